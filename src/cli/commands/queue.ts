import { commandRepo } from '../repo.js';
import { queueLog, queueStatus, startQueue } from '../../core/tracking/runexp.js';
import { openStore, storeLocation } from '../../core/tracking/store.js';
import type { ActionContext, Outcome } from '../action.js';
import { stderrColor, stdoutColor, table } from '../output.js';
import { plural } from '../../base/plural.js';

export async function queueStart({ out, flags, opts }: ActionContext<{ jobs?: number }>): Promise<Outcome> {
  const repo = commandRepo(flags);
  const jobs = opts.jobs && opts.jobs > 0 ? opts.jobs : 1;
  const result = await startQueue(repo, {
    jobs,
    mloCommand: [process.execPath, process.argv[1]],
    onEvent: (e) => {
      if (e.event === 'start') out.info(`Started run ${e.run} (log: mlo queue logs ${e.run.slice(0, 7)})`);
      else out.info(`Run ${e.run} ${e.status === 'finished' ? stderrColor.green('finished') : stderrColor.red(e.status ?? 'failed')}`);
    },
  });
  const failed = result.runs.filter((r) => r.status !== 'finished');
  out.result(result, () =>
    result.runs.length === 0
      ? 'The queue is empty (queue runs with mlo exp run --queue -S ...).'
      : [`Ran ${plural(result.runs.length, 'queued run')}${failed.length ? `, ${failed.length} failed` : ''}. Compare them with mlo exp show.`],
  );
  return { failed: failed.length > 0 };
}

export function queueStatusCmd({ out, flags }: ActionContext<object>): void {
  const repo = commandRepo(flags);
  const db = openStore(storeLocation(repo), { sync: true });
  let entries;
  try {
    entries = queueStatus(db);
  } finally {
    db.close();
  }
  out.result({ runs: entries }, () => {
    if (entries.length === 0) return 'No queued runs (queue some with mlo exp run --queue -S ...).';
    const counts = ['queued', 'running', 'finished', 'failed'].map((s) => `${entries.filter((e) => e.status === s).length} ${s}`).join(', ');
    return [
      ...table(
        ['Run', 'Name', 'Status', 'Params'],
        entries.map((e) => [
          e.run.slice(0, 7),
          e.name ?? '',
          e.status,
          Object.entries(e.params)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
        ]),
      ),
      stdoutColor.dim(counts),
    ];
  });
}

export function queueLogs({ out, flags }: ActionContext<object>, run: string): void {
  const repo = commandRepo(flags);
  const db = openStore(storeLocation(repo), { sync: true });
  let log;
  try {
    log = queueLog(repo, db, run);
  } finally {
    db.close();
  }
  out.result(log, () => log.text.replace(/\n$/, ''));
}
