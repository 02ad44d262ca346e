/**
 * `mlo gc`: removes cache objects that no pointer in the chosen scope references. The workspace, the
 * models of the workspace's registry and (unless told otherwise) the run cache's outs are always kept;
 * without a scope flag gc refuses, as DVC does, because guessing wrong deletes data.
 */
import { rmSync } from 'node:fs';
import { clearCacheTmp, listObjects, removeStaleObjectTemps } from '../data/cache/objects.js';
import { withRepoLock } from '../repo/lock.js';
import { bumpCacheGeneration } from '../data/workspace/snapshot.js';
import { neededObjects } from '../data/references.js';
import type { Repo } from '../repo/repo.js';
import { assertScope, localRunCacheOuts, trackedInScope, type GcScope, type RunCacheKept } from './keep.js';

export interface GcOptions extends GcScope {
  dry?: boolean;
  /** Keep the objects the run cache's entries need (default true; `--no-run-cache` turns it off). */
  runCache?: boolean;
}

export interface GcResult {
  removed: { hash: string; size: number }[];
  bytes: number;
  kept: number;
  dry: boolean;
  /** Unless `runCache: false`: the entries read, and those that failed their checks (their objects are kept). */
  runCache?: RunCacheKept;
}

export async function collectGarbage(repo: Repo, options: GcOptions): Promise<GcResult> {
  assertScope(options);
  return withRepoLock(repo, { command: 'gc' }, async () => {
    const items = await trackedInScope(repo, options);
    const runs = options.runCache === false ? undefined : await localRunCacheOuts(repo);
    const keep = neededObjects(repo, runs ? [...items, ...runs.items] : items).objects;
    const result: GcResult = { removed: [], bytes: 0, kept: 0, dry: Boolean(options.dry), ...(runs && { runCache: runs.kept }) };
    for (const obj of listObjects(repo.cacheDir)) {
      if (keep.has(obj.hash)) {
        result.kept++;
        continue;
      }
      result.removed.push({ hash: obj.hash, size: obj.size });
      result.bytes += obj.size;
      if (!options.dry) rmSync(obj.path, { force: true });
    }
    if (!options.dry) {
      clearCacheTmp(repo.cacheDir);
      removeStaleObjectTemps(repo.cacheDir);
      if (result.removed.length) bumpCacheGeneration(repo);
    }
    return result;
  });
}
