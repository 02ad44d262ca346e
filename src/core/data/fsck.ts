/**
 * `mlo fsck`: re-hashes every cache object and reports those whose content does not match their name
 * (corrupt) or is shorter than a pointer or manifest says (truncated), and the tracked directories
 * whose manifest is not in the cache (after `--remove` too: removing a corrupt manifest makes one), and
 * the pointers and lock entries whose recorded size disagrees with their object, and the pointers and
 * lock entries that cannot be read at all (each is damage: it hides what it tracks from every check).
 */
import { rmSync } from 'node:fs';
import { isMloError } from '../../base/errors.js';
import { listObjects } from './cache/objects.js';
import { checkObject } from './cache/verify.js';
import { withRepoLock } from '../repo/lock.js';
import { bumpCacheGeneration } from './workspace/snapshot.js';
import { missingManifests, neededObjects } from './references.js';
import type { Repo } from '../repo/repo.js';
import { StateDb } from './state.js';
import { scanTracked, sourceOf, type BrokenRecord, type Tracked } from './tracked.js';
import { measure, sizeMismatch, type SizeMismatch } from './sizes.js';

export interface FsckProblem {
  hash: string;
  problem: 'corrupt' | 'truncated';
  size: number;
  expectedSize?: number;
  usedBy?: string;
  removed: boolean;
}

/** A tracked directory whose manifest is not in the cache, and its pointer file or mlo.lock entry. */
export interface MissingManifest {
  path: string;
  hash: string;
  source: string;
}

export interface FsckResult {
  checked: number;
  bytes: number;
  problems: FsckProblem[];
  missingManifests: MissingManifest[];
  /** Pointers and lock entries whose recorded size or file count disagrees with the cached object. */
  sizeMismatches: SizeMismatch[];
  /** Pointer files and mlo.lock (entries) that cannot be read: bad YAML, a refused size, hash or path. */
  brokenFiles: BrokenRecord[];
}

export async function fsckCache(repo: Repo, options: { remove?: boolean; onObject?: (bytes: number) => void }): Promise<FsckResult> {
  return withRepoLock(repo, { command: 'fsck' }, () => {
    let expected = new Map<string, { size?: number; usedBy: string }>();
    const { items: tracked, broken } = scanTracked(repo);
    try {
      expected = neededObjects(repo, tracked).objects;
    } catch (err) {
      // A malformed manifest must not stop the cache check (the check reports it); sizes are then unknown.
      if (!isMloError(err)) throw err;
    }
    const state = new StateDb(repo.tmpDir);
    const result: FsckResult = { checked: 0, bytes: 0, problems: [], missingManifests: [], sizeMismatches: [], brokenFiles: broken };
    try {
      for (const obj of listObjects(repo.cacheDir)) {
        result.checked++;
        result.bytes += obj.size;
        // force: fsck exists to catch what the state database would vouch for.
        const health = checkObject(repo.cacheDir, state, obj.hash, { force: true });
        options.onObject?.(obj.size);
        if (health !== 'corrupt') continue;
        const want = expected.get(obj.hash);
        const truncated = want?.size !== undefined && obj.size < want.size;
        if (options.remove) {
          rmSync(obj.path, { force: true });
          bumpCacheGeneration(repo);
        }
        result.problems.push({
          hash: obj.hash,
          problem: truncated ? 'truncated' : 'corrupt',
          size: obj.size,
          expectedSize: want?.size,
          usedBy: want?.usedBy,
          removed: Boolean(options.remove),
        });
      }
    } finally {
      state.close();
    }
    result.missingManifests = missingManifests(repo, tracked).map((t) => ({ path: t.path, hash: t.hash, source: sourceOf(t) }));
    // A truncated or corrupt object is reported as such above, not again as a pointer's wrong size.
    const damaged = new Set(result.problems.map((p) => p.hash));
    result.sizeMismatches = sizeMismatches(repo, tracked).filter((m) => !damaged.has(m.hash));
    return result;
  });
}

/** Each tracked path and hash once; an object removed as corrupt just now is measured as absent. */
function sizeMismatches(repo: Repo, tracked: Tracked[]): SizeMismatch[] {
  const seen = new Set<string>();
  const found: SizeMismatch[] = [];
  for (const t of tracked) {
    const key = `${t.path}\0${t.hash}\0${t.size}\0${t.files}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let m: SizeMismatch | undefined;
    try {
      m = sizeMismatch(t, measure(repo, t));
    } catch {
      // A malformed manifest is reported by the object check above (it does not match its hash, or
      // it is refused when read); it has no size to compare.
    }
    if (m) found.push(m);
  }
  return found;
}
