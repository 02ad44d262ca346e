/**
 * `mlo gc`: removes cache objects that no pointer in the chosen scope references. The workspace, the
 * models of the workspace's registry and (unless told otherwise) the run cache's outs are always kept;
 * without a scope flag gc refuses, as DVC does, because guessing wrong deletes data. So does a
 * directory in scope whose manifest is not in the cache (as gc --cloud does): its files are unknown.
 */
import { rmSync } from 'node:fs';
import { MloError } from '../../base/errors.js';
import { clearCacheTmp, listObjects, removeStaleObjectTemps } from '../data/cache/objects.js';
import { withRepoLock } from '../repo/lock.js';
import { bumpCacheGeneration } from '../data/workspace/snapshot.js';
import { missingManifests, neededObjects } from '../data/references.js';
import { sourceOf } from '../data/tracked.js';
import type { Repo } from '../repo/repo.js';
import { assertScope, localRunCacheOuts, trackedInScope, type GcScope, type RunCacheKept } from './keep.js';

export interface GcOptions extends GcScope {
  dry?: boolean;
  /** Keep the objects the run cache's entries need (default true; `--no-run-cache` turns it off). */
  runCache?: boolean;
  /** Delete even when directories in scope have no manifest in the cache (their files are not kept). */
  force?: boolean;
}

/** A directory in scope whose manifest the cache lacks, and the pointer or mlo.lock entry naming it. */
export interface UnknownDirectory {
  path: string;
  hash: string;
  source: string;
}

export interface GcResult {
  removed: { hash: string; size: number }[];
  bytes: number;
  kept: number;
  dry: boolean;
  /** Unless `runCache: false`: the entries read, and those that failed their checks (their objects are kept). */
  runCache?: RunCacheKept;
  /** Directories in scope without a manifest in the cache; without `force` (or `dry`) gc refuses when there are some. */
  unknownDirectories: UnknownDirectory[];
}

export async function collectGarbage(repo: Repo, options: GcOptions): Promise<GcResult> {
  assertScope(options);
  return withRepoLock(repo, { command: 'gc' }, async () => {
    const items = await trackedInScope(repo, options);
    const runs = options.runCache === false ? undefined : await localRunCacheOuts(repo);
    const keep = neededObjects(repo, runs ? [...items, ...runs.items] : items).objects;
    // Run-cache entries are exempt, as in gc --cloud: without its manifest, such a run simply runs again.
    const unknownDirectories = missingManifests(repo, items).map((t) => ({ path: t.path, hash: t.hash, source: sourceOf(t) }));
    const result: GcResult = {
      removed: [],
      bytes: 0,
      kept: 0,
      dry: Boolean(options.dry),
      ...(runs && { runCache: runs.kept }),
      unknownDirectories,
    };
    // Doubt keeps objects: in `cache.type: symlink` the files of such a directory are the only copy.
    if (unknownDirectories.length && !options.dry && !options.force) throw unknownManifestError(unknownDirectories, result);
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

function unknownManifestError(dirs: UnknownDirectory[], result: GcResult): MloError {
  const list = dirs
    .slice(0, 3)
    .map((d) => `${d.path} (${d.source}, manifest ${d.hash.slice(0, 12)})`)
    .join(', ');
  const more = dirs.length > 3 ? ` and ${dirs.length - 3} more` : '';
  return new MloError(
    'MLO_UNKNOWN_MANIFEST',
    `gc refused: the manifest of ${list}${more} is not in the cache, so the files ${dirs.length === 1 ? 'it lists' : 'they list'} cannot be told apart from garbage`,
    {
      hint: 'get the manifest back with `mlo fetch` (with the same scope flags) or by adding the folder again with `mlo add`, or pass --force to accept deleting those files',
      meta: { result },
    },
  );
}
