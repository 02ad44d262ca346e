/** fetch and pull: downloading what the targets need into the cache (pull then checks it out). */
import { openScan } from '../data/workspace/scan.js';
import { runCheckout, type CheckoutResult } from '../data/checkout.js';
import { resolveTargets } from '../data/tracked.js';
import type { Repo } from '../repo/repo.js';
import { fetchItems, throwIfIncomplete, type DownloadResult } from './download.js';
import { withLockUnlessHeld, type SyncOptions } from './options.js';
import { fetchRuns, throwIfRunsRefused, type RunCacheFetchResult } from './run-cache-transfer.js';
import { hasScope, syncItems } from './targets.js';

export interface FetchResult extends DownloadResult {
  /** With --run-cache. */
  runCache?: RunCacheFetchResult;
}

export interface PullResult {
  fetch: FetchResult;
  checkout: CheckoutResult;
}

export async function fetchTargets(repo: Repo, options: SyncOptions): Promise<FetchResult> {
  const items = await syncItems(repo, options);
  return withLockUnlessHeld(repo, options, 'fetch', async () => {
    const result: FetchResult = await fetchItems(repo, items, options);
    if (options.runCache) result.runCache = await fetchRuns(repo, options);
    throwIfIncomplete(result);
    if (result.runCache) throwIfRunsRefused(result.runCache, result.remote, result);
    return result;
  });
}

export interface PullOptions extends SyncOptions {
  /** Overwrite workspace changes that are not in the cache (checkout --force). */
  force?: boolean;
  onFile?: (bytes: number) => void;
}

/** fetch, then checkout of what arrived; objects that could not be fetched are reported after. */
export async function pullTargets(repo: Repo, options: PullOptions): Promise<PullResult> {
  const items = await syncItems(repo, options);
  // Revisions other than the workspace, and registry versions, are fetched, not checked out.
  const workspaceItems = hasScope(options) ? resolveTargets(repo, options.cwd, options.targets) : items.filter((i) => !i.model);
  return withLockUnlessHeld(repo, options, 'pull', async () => {
    const fetched: FetchResult = await fetchItems(repo, items, options);
    if (options.runCache) fetched.runCache = await fetchRuns(repo, options);
    const ctx = openScan(repo);
    let checkout: CheckoutResult;
    try {
      checkout = runCheckout(ctx, workspaceItems, { force: options.force, onFile: options.onFile });
    } finally {
      ctx.state.close();
    }
    const result = { fetch: fetched, checkout };
    throwIfIncomplete(fetched, result);
    if (fetched.runCache) throwIfRunsRefused(fetched.runCache, fetched.remote, result);
    return result;
  });
}
