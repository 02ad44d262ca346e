import { resolve } from 'node:path';
import { commandRepo } from '../repo.js';
import { queueLog, queueStatus, startQueue } from '../../core/tracking/runexp.js';
import { openStore, storeLocation } from '../../core/tracking/store.js';
import type { ActionContext, Outcome } from '../action.js';
import { stderrColor, stdoutColor, table } from '../output.js';
import { plural } from '../../base/plural.js';
import { usageError } from '../../base/errors.js';
import type { BrokerSettings } from '../../core/queue/broker.js';
import type { Output } from '../output.js';

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
  const shared = result.runs.length === 0 && (await import('../../core/queue/broker.js')).brokerSettings(repo);
  out.result(result, () =>
    result.runs.length === 0
      ? shared
        ? `The local queue is empty: with queue.broker set, exp run --queue sends runs to the shared queue ${shared.queue} (run them with mlo queue worker).`
        : 'The queue is empty (queue runs with mlo exp run --queue -S ...).'
      : [`Ran ${plural(result.runs.length, 'queued run')}${failed.length ? `, ${failed.length} failed` : ''}. Compare them with mlo exp show.`],
  );
  return { failed: failed.length > 0 };
}

export async function queueStatusCmd(ctx: ActionContext<object>): Promise<void> {
  const { out, flags } = ctx;
  const repo = commandRepo(flags);
  const settings = (await import('../../core/queue/broker.js')).brokerSettings(repo);
  if (settings) return sharedStatus(out, settings);
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

export async function queueLogs({ out, flags, opts }: ActionContext<{ follow?: boolean }>, run: string): Promise<void> {
  const repo = commandRepo(flags);
  const settings = (await import('../../core/queue/broker.js')).brokerSettings(repo);
  if (settings) return sharedLogs(out, settings, run, Boolean(opts.follow));
  const db = openStore(storeLocation(repo), { sync: true });
  let log;
  try {
    log = queueLog(repo, db, run);
  } finally {
    db.close();
  }
  out.result(log, () => log.text.replace(/\n$/, ''));
}

async function withBroker<T>(settings: BrokerSettings, fn: (broker: import('../../core/queue/broker.js').Broker) => Promise<T>): Promise<T> {
  const { openBroker } = await import('../../core/queue/broker.js');
  const broker = await openBroker(settings);
  try {
    return await fn(broker);
  } finally {
    await broker.close();
  }
}

function seconds(ms: number | null): string {
  return ms === null ? '' : `${(ms / 1000).toFixed(1)}s`;
}

async function sharedStatus(out: Output, settings: BrokerSettings): Promise<void> {
  const { queueJobs } = await import('../../core/queue/observe.js');
  const jobs = await withBroker(settings, queueJobs);
  out.result({ queue: settings.queue, jobs }, () => {
    if (jobs.length === 0) return `Queue ${settings.queue} is empty (queue runs with mlo exp run --queue -S ...).`;
    const counts = (['waiting', 'active', 'finished', 'failed'] as const).map((s) => `${jobs.filter((j) => j.state === s).length} ${s}`).join(', ');
    return [
      ...table(
        ['Run', 'Name', 'State', 'Worker', 'Time', 'Params', 'Error'],
        jobs.map((j) => [
          j.run,
          j.name ?? '',
          j.state,
          j.worker ?? '',
          seconds(j.elapsedMs),
          Object.entries(j.params)
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
          j.error ?? '',
        ]),
      ),
      stdoutColor.dim(`${settings.queue}: ${counts}`),
    ];
  });
}

/** Milliseconds between polls of a followed log. */
const FOLLOW_MS = 300;

async function sharedLogs(out: Output, settings: BrokerSettings, ref: string, follow: boolean): Promise<void> {
  const { findJob, jobLog } = await import('../../core/queue/observe.js');
  await withBroker(settings, async (broker) => {
    const job = await findJob(broker, ref);
    let log = await jobLog(broker, job.run);
    if (out.flags.json || !follow) {
      out.result({ run: job.run, state: log.state, lines: log.lines }, () =>
        log.lines.length ? log.lines : `Run ${job.run} has no log lines yet (it is ${log.state}).`,
      );
      return;
    }
    let seen = 0;
    for (;;) {
      if (log.lines.length) out.print(log.lines);
      seen += log.lines.length;
      if (log.ended) break;
      await new Promise((r) => setTimeout(r, FOLLOW_MS));
      log = await jobLog(broker, job.run, seen);
    }
    out.info(`Run ${job.run} ${log.state}.`);
  });
}

export async function queueCancel({ out, flags, opts }: ActionContext<{ all?: boolean }>, runs: string[]): Promise<Outcome> {
  if (!opts.all && runs.length === 0) throw usageError('name the runs to cancel, or pass --all');
  if (opts.all && runs.length) throw usageError('pass either runs or --all, not both');
  const repo = commandRepo(flags);
  const { requireBroker } = await import('../../core/queue/broker.js');
  const settings = requireBroker(repo, 'mlo queue cancel');
  const { cancelJobs, findJob, queueJobs } = await import('../../core/queue/observe.js');
  const r = await withBroker(settings, async (broker) => {
    const targets = opts.all
      ? (await queueJobs(broker)).filter((j) => j.state === 'waiting' || j.state === 'active')
      : await Promise.all(runs.map((ref) => findJob(broker, ref)));
    return cancelJobs(broker, targets);
  });
  out.result(r, () => {
    if (r.removed.length + r.stopping.length + r.ended.length === 0) return 'Nothing to cancel: no job is waiting or running.';
    return [
      ...(r.removed.length ? [`Removed ${plural(r.removed.length, 'waiting job')}: ${r.removed.join(', ')}`] : []),
      ...(r.stopping.length ? [`Asked the workers to stop ${plural(r.stopping.length, 'running job')}: ${r.stopping.join(', ')}`] : []),
      ...(r.ended.length ? [stdoutColor.yellow(`Already ended (not cancelled): ${r.ended.join(', ')}`)] : []),
    ];
  });
  // Naming only jobs that had ended cancelled nothing: not a success.
  return { failed: !opts.all && r.removed.length + r.stopping.length === 0 };
}

export async function queueWorker({
  out,
  flags,
  opts,
}: ActionContext<{ concurrency?: number; exitWhenEmpty?: boolean; clone?: string; work?: string }>): Promise<Outcome> {
  if (opts.work && !opts.clone) throw usageError('--work is the folder for --clone; pass --clone URL too');
  let repo;
  if (opts.clone) {
    const { workerClone } = await import('../../core/queue/clone.js');
    const { repoAt } = await import('../../core/repo/repo.js');
    const dir = workerClone(flags.cwd, opts.clone, resolve(flags.cwd, opts.work ?? 'mlo-worker'));
    out.info(`Working in ${dir}`);
    repo = repoAt(dir);
  } else repo = commandRepo(flags);
  const { requireBroker } = await import('../../core/queue/broker.js');
  const settings = requireBroker(repo, 'mlo queue worker');
  const { runWorker } = await import('../../core/queue/worker.js');
  const r = await runWorker(repo, settings, {
    concurrency: opts.concurrency && opts.concurrency > 0 ? opts.concurrency : 1,
    exitWhenEmpty: opts.exitWhenEmpty,
    onEvent: (e) => {
      if (e.type === 'ready')
        out.info(`Worker ${e.worker} takes jobs from ${e.queue}, ${e.concurrency} at a time (Ctrl-C: finish and stop; twice: return the jobs).`);
      else if (e.type === 'start') out.info(`Started run ${e.run}${e.name ? ` (${e.name})` : ''}`);
      else if (e.type === 'end')
        out.info(`Run ${e.run} ${e.status === 'finished' ? stderrColor.green('finished') : stderrColor.red(e.status)}${e.error ? `: ${e.error}` : ''}`);
      else if (e.type === 'broker') out.warn(e.message);
      else if (e.type === 'stopping')
        out.info(e.graceful ? 'Stopping: finishing the running jobs (Ctrl-C again to return them to the queue).' : 'Returning the running jobs to the queue.');
    },
  });
  out.result(r, () => `Worker ${r.worker}: ${r.finished.length} finished, ${r.failed.length} failed, ${r.returned.length} returned to the queue.`);
  return { failed: r.failed.length > 0 };
}
