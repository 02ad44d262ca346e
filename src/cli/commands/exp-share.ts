/** `mlo exp push` and `mlo exp pull`: run records through the mlo remote (core/tracking/share.ts). */
import { plural } from '../../base/plural.js';
import type { ActionContext, Outcome } from '../action.js';
import { stdoutColor } from '../output.js';
import { commandRepo } from '../repo.js';

export interface ShareFlags {
  remote?: string;
  jobs?: number;
}

export async function expPushCmd({ out, flags, opts }: ActionContext<ShareFlags>): Promise<void> {
  const repo = commandRepo(flags);
  const { pushRunRecords } = await import('../../core/tracking/share.js');
  const r = await pushRunRecords(repo, { cwd: flags.cwd, remote: opts.remote, jobs: opts.jobs });
  out.result(r, () =>
    r.pushed.length === 0 && r.present === 0
      ? 'No ended runs to push (mlo run and mlo exp run record them).'
      : `Pushed ${plural(r.pushed.length, 'run record')} to ${r.remote} (${r.url}); ${r.present} already there.`,
  );
}

export async function expPullCmd({ out, flags, opts }: ActionContext<ShareFlags>): Promise<Outcome> {
  const repo = commandRepo(flags);
  const { pullRunRecords, refusedError } = await import('../../core/tracking/share.js');
  const r = await pullRunRecords(repo, { cwd: flags.cwd, remote: opts.remote, jobs: opts.jobs });
  if (r.refused.length && r.pulled.length === 0) throw refusedError(r);
  for (const x of r.refused) out.warn(`${x.key} on remote '${r.remote}' was refused: ${x.reason}`);
  out.result(r, () => [
    r.pulled.length === 0 && r.present === 0
      ? `Remote ${r.remote} (${r.url}) holds no run records yet (share runs with mlo exp push).`
      : `Pulled ${plural(r.pulled.length, 'run record')} from ${r.remote}; ${r.present} already here.`,
    ...(r.pulled.length ? [stdoutColor.dim('Compare them with mlo exp show; restore one with mlo exp apply RUN.')] : []),
  ]);
  return { failed: r.refused.length > 0 };
}
