import { commandRepo } from '../repo.js';
import { pullTargets } from '../../core/sync/fetch.js';
import type { ActionContext } from '../action.js';
import { scopeOf, type SyncFlags } from '../options.js';
import { transferProgress } from '../progress.js';
import { runCacheLines, warnRunCache } from '../runcache.js';
import { formatBytes } from '../output.js';
import { plural } from '../../base/plural.js';

export async function pull({ out, flags, opts }: ActionContext<SyncFlags & { force?: boolean }>, targets: string[]): Promise<void> {
  const repo = commandRepo(flags);
  const bar = out.progress('checking out');
  let files = 0;
  const r = await pullTargets(repo, {
    cwd: flags.cwd,
    targets,
    remote: opts.remote,
    jobs: opts.jobs,
    force: opts.force,
    runCache: opts.runCache,
    ...scopeOf(opts),
    progress: transferProgress(out, 'fetching'),
    onFile: () => bar.update({ files: ++files }),
  }).finally(() => bar.done());
  const f = r.fetch;
  warnRunCache(out, f.runCache);
  const c = r.checkout;
  out.result(r, () => [
    `fetched ${plural(f.downloaded, 'object')} (${formatBytes(f.bytes)})${f.remote ? ` from ${f.remote} (${f.url})` : ''}; ${f.cached} already in the cache`,
    `${c.added.length} added, ${c.modified.length} modified, ${c.deleted.length} deleted, ${c.unchanged} unchanged`,
    ...runCacheLines(f.runCache),
  ]);
}
