import { openRepo } from '../../core/repo/repo.js';
import { pushTargets } from '../../core/sync/push.js';
import type { ActionContext } from '../action.js';
import { scopeOf, transferProgress, type SyncFlags } from '../areas/remote.js';
import { formatBytes } from '../output.js';

export async function push({ out, flags, opts }: ActionContext<SyncFlags>, targets: string[]): Promise<void> {
  const repo = openRepo({ cwd: flags.cwd });
  const r = await pushTargets(repo, { cwd: flags.cwd, targets, remote: opts.remote, jobs: opts.jobs, runCache: opts.runCache, verify: opts.verify, ...scopeOf(opts), progress: transferProgress(out, 'pushing') });
  if (r.missingLocally.length) {
    const list = r.missingLocally.slice(0, 3).map((m) => m.path).join(', ');
    out.warn(`${r.missingLocally.length} ${r.missingLocally.length === 1 ? 'object is' : 'objects are'} not in the local cache and ${r.missingLocally.length === 1 ? 'was' : 'were'} not pushed: ${list}${r.missingLocally.length > 3 ? ', ...' : ''}`);
  }
  const rc = r.runCache;
  if (rc?.skipped.length) {
    out.warn(`${rc.skipped.length} run-cache ${rc.skipped.length === 1 ? 'entry was' : 'entries were'} not pushed: ${rc.skipped[0].key.slice(0, 12)}: ${rc.skipped[0].reason}${rc.skipped.length > 1 ? ', ...' : ''}`);
  }
  out.result(r, () => [
    `pushed ${r.uploaded} ${r.uploaded === 1 ? 'object' : 'objects'} (${formatBytes(r.bytes)}) to ${r.remote} (${r.url}); ${r.present} already there`,
    ...(rc ? [`run cache: pushed ${rc.uploaded} ${rc.uploaded === 1 ? 'entry' : 'entries'}; ${rc.present} already there`] : []),
  ]);
}
