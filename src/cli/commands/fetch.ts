import { commandRepo } from '../repo.js';
import { fetchTargets } from '../../core/sync/fetch.js';
import type { ActionContext } from '../action.js';
import { scopeOf, type SyncFlags } from '../options.js';
import { transferProgress } from '../progress.js';
import { runCacheLines, warnRunCache } from '../runcache.js';
import { formatBytes } from '../output.js';
import { plural } from '../../base/plural.js';

export async function fetch({ out, flags, opts }: ActionContext<SyncFlags>, targets: string[]): Promise<void> {
  const repo = commandRepo(flags);
  const r = await fetchTargets(repo, {
    cwd: flags.cwd,
    targets,
    remote: opts.remote,
    jobs: opts.jobs,
    runCache: opts.runCache,
    ...scopeOf(opts),
    progress: transferProgress(out, 'fetching'),
  });
  warnRunCache(out, r.runCache);
  out.result(r, () => [
    `fetched ${plural(r.downloaded, 'object')} (${formatBytes(r.bytes)})${r.remote ? ` from ${r.remote} (${r.url})` : ''}; ${r.cached} already in the cache`,
    ...runCacheLines(r.runCache),
  ]);
}
