import { commandRepo } from '../repo.js';
import { pushTargets } from '../../core/sync/push.js';
import type { ActionContext } from '../action.js';
import { scopeOf, type SyncFlags } from '../options.js';
import { transferProgress } from '../progress.js';
import { formatBytes } from '../output.js';
import { plural } from '../../base/plural.js';

export async function push({ out, flags, opts }: ActionContext<SyncFlags>, targets: string[]): Promise<void> {
  const repo = commandRepo(flags);
  const r = await pushTargets(repo, {
    cwd: flags.cwd,
    targets,
    remote: opts.remote,
    jobs: opts.jobs,
    runCache: opts.runCache,
    verify: opts.verify,
    ...scopeOf(opts),
    progress: transferProgress(out, 'pushing'),
  });
  if (r.missingLocally.length) {
    const list = r.missingLocally
      .slice(0, 3)
      .map((m) => m.path)
      .join(', ');
    out.warn(
      `${plural(r.missingLocally.length, 'object is', 'objects are')} not in the local cache and ${r.missingLocally.length === 1 ? 'was' : 'were'} not pushed: ${list}${r.missingLocally.length > 3 ? ', ...' : ''}`,
    );
  }
  const rc = r.runCache;
  if (rc?.skipped.length) {
    out.warn(
      `${plural(rc.skipped.length, 'run-cache entry was', 'run-cache entries were')} not pushed: ${rc.skipped[0].key.slice(0, 12)}: ${rc.skipped[0].reason}${rc.skipped.length > 1 ? ', ...' : ''}`,
    );
  }
  out.result(r, () => [
    `pushed ${plural(r.uploaded, 'object')} (${formatBytes(r.bytes)}) to ${r.remote} (${r.url}); ${r.present} already there`,
    ...(rc ? [`run cache: pushed ${plural(rc.uploaded, 'entry', 'entries')}; ${rc.present} already there`] : []),
  ]);
}
