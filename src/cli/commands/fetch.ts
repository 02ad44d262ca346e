import { openRepo } from '../../core/repo/repo.js';
import { fetchTargets } from '../../core/sync/fetch.js';
import type { ActionContext } from '../action.js';
import { runCacheLines, scopeOf, transferProgress, warnRunCache, type SyncFlags } from '../areas/remote.js';
import { formatBytes } from '../output.js';

export async function fetch({ out, flags, opts }: ActionContext<SyncFlags>, targets: string[]): Promise<void> {
  const repo = openRepo({ cwd: flags.cwd });
  const r = await fetchTargets(repo, { cwd: flags.cwd, targets, remote: opts.remote, jobs: opts.jobs, runCache: opts.runCache, ...scopeOf(opts), progress: transferProgress(out, 'fetching') });
  warnRunCache(out, r.runCache);
  out.result(r, () => [
    `fetched ${r.downloaded} ${r.downloaded === 1 ? 'object' : 'objects'} (${formatBytes(r.bytes)})${r.remote ? ` from ${r.remote} (${r.url})` : ''}; ${r.cached} already in the cache`,
    ...runCacheLines(r.runCache),
  ]);
}
