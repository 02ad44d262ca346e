/** gc --cloud: removing the remote's objects that nothing in the scope (nor the remote's run cache) references. */
import { MloError } from '../../base/errors.js';
import { neededObjects } from '../data/references.js';
import type { Repo } from '../repo/repo.js';
import { hashOfKey } from '../../storage/layout.js';
import { runPool } from '../../storage/pool.js';
import type { RemoteEntry } from '../../storage/remote.js';
import { downloader } from './download.js';
import { assertScope, remoteRunCacheOuts, trackedInScope, type RemoteRunCacheKept } from './keep.js';
import { byPath, type ObjectRef } from './object-ref.js';
import { withLockUnlessHeld, type SyncOptions } from './options.js';

/** Up to about this many objects, gc --cloud lists the remote in one sequential pass. */
const FULL_LISTING_MAX = 20_000;

/** A folder remote's `.mlo-tmp-*` older than this is left over from an interrupted push (as the cache's tmp/). */
const STALE_TEMP_MS = 60 * 60 * 1000;

export interface CloudGcOptions extends SyncOptions {
  workspace?: boolean;
  /** Here: keep the objects the remote's run-cache entries need (default true). */
  runCache?: boolean;
  dry?: boolean;
  /** Delete even when directories in scope have no manifest anywhere (their files are not kept). */
  force?: boolean;
  /** Called with the plan before anything is deleted (the CLI prints the count and bytes). */
  onPlan?(plan: { objects: number; bytes: number; remote: string; url: string }): void;
}

export interface CloudGcResult {
  remote: string;
  url: string;
  dry: boolean;
  removed: { hash: string; size: number }[];
  bytes: number;
  kept: number;
  /**
   * Directories in scope whose manifest is neither cached nor on the remote (their files cannot be
   * kept). Without `force` (or `dry`) gc refuses to delete anything when there are some.
   */
  unknownDirectories: ObjectRef[];
  /** `.mlo-tmp-*` files older than an hour, left by interrupted uploads to a folder remote: removed (counted under dry). */
  staleTemps: number;
  /** Unless `runCache: false`: the remote's run-cache entries read and those that failed their checks. */
  runCache?: RemoteRunCacheKept;
}

/**
 * Removes remote objects that nothing in the scope (nor, by default, the remote's run cache) references. Lists the remote by its 256 shards in
 * parallel; keys that are not mlo objects are never touched.
 */
export async function cloudGc(repo: Repo, options: CloudGcOptions): Promise<CloudGcResult> {
  assertScope(options);
  const items = await trackedInScope(repo, options);
  return withLockUnlessHeld(repo, options, 'gc --cloud', async () => {
    const dl = downloader(repo, { ...options, progress: undefined });
    try {
      const { remote, index, jobs, name } = await dl.open();
      // The remote's run cache, not the local one: entries pushed from other machines name objects too.
      const runs = options.runCache === false ? undefined : await remoteRunCacheOuts(repo, remote, jobs);
      const all = runs ? [...items, ...runs.items] : items;
      await dl.manifests(all);
      const { objects: keep, unexpanded } = neededObjects(repo, all);
      // A run-cache entry whose manifest is gone everywhere (after `--no-run-cache`) is expected: that
      // run simply runs again, as fetch --run-cache treats it. Only the scope's are worth a warning.
      const fromRuns = new Set(runs?.items);
      const result: CloudGcResult = {
        remote: name,
        url: remote.describe(),
        dry: Boolean(options.dry),
        removed: [],
        bytes: 0,
        kept: 0,
        unknownDirectories: unexpanded
          .filter((t) => !fromRuns.has(t))
          .map((t) => ({ hash: t.hash, path: t.path }))
          .sort(byPath),
        staleTemps: 0,
        ...(runs && { runCache: runs.kept }),
      };
      // Doubt keeps objects: without the manifest nobody knows which file objects the directory needs.
      if (result.unknownDirectories.length && !options.dry && !options.force) {
        const dirs = result.unknownDirectories;
        const list = dirs
          .slice(0, 3)
          .map((d) => `${d.path} (${d.hash})`)
          .join(', ');
        throw new MloError(
          'MLO_UNKNOWN_MANIFEST',
          `gc --cloud on remote '${name}' refused: the manifest of ${list}${dirs.length > 3 ? ` and ${dirs.length - 3} more` : ''} is neither cached nor on the remote, so their files cannot be told apart from garbage`,
          {
            hint: 'push the manifest from a machine that has it (`mlo push`), or pass --force to accept deleting their files',
            meta: { result },
          },
        );
      }
      const keys: string[] = [];
      const consider = (page: RemoteEntry[]) => {
        for (const e of page) {
          const h = hashOfKey(e.key);
          if (!h) continue;
          if (keep.has(h)) {
            result.kept++;
            continue;
          }
          keys.push(e.key);
          result.removed.push({ hash: h, size: e.size });
          result.bytes += e.size;
        }
      };
      // One shard estimates the remote's size: a small remote is one sequential listing, a big one
      // is listed shard by shard in parallel (256 requests at least, but `jobs` at a time).
      const sample: RemoteEntry[] = [];
      for await (const page of remote.list('00/')) sample.push(...page);
      if (sample.length * 256 <= FULL_LISTING_MAX) {
        for await (const page of remote.list('')) consider(page);
      } else {
        consider(sample);
        const shards = Array.from({ length: 255 }, (_, i) => `${(i + 1).toString(16).padStart(2, '0')}/`);
        await runPool(shards, jobs, async (shard) => {
          for await (const page of remote.list(shard)) consider(page);
        });
      }
      result.removed.sort((a, b) => (a.hash < b.hash ? -1 : 1));
      options.onPlan?.({ objects: result.removed.length, bytes: result.bytes, remote: name, url: result.url });
      if (!options.dry && keys.length) {
        index.remove(keys);
        await remote.delete(keys);
      }
      if (remote.clearStaleTemps) result.staleTemps = await remote.clearStaleTemps(STALE_TEMP_MS, Boolean(options.dry));
      return result;
    } finally {
      await dl.close();
    }
  });
}
