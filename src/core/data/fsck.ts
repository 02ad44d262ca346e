/**
 * `mlo fsck`: re-hashes every cache object and reports those whose content does not match their name
 * (corrupt) or is shorter than a pointer or manifest says (truncated), and the tracked directories
 * whose manifest is not in the cache (after `--remove` too: removing a corrupt manifest makes one).
 */
import { rmSync } from 'node:fs';
import { listObjects } from './cache/objects.js';
import { checkObject } from './cache/verify.js';
import { withRepoLock } from '../repo/lock.js';
import { bumpCacheGeneration } from './workspace/snapshot.js';
import { missingManifests, neededObjects } from './references.js';
import type { Repo } from '../repo/repo.js';
import { StateDb } from './state.js';
import { allTracked, sourceOf, type Tracked } from './tracked.js';

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
}

export async function fsckCache(repo: Repo, options: { remove?: boolean; onObject?: (bytes: number) => void }): Promise<FsckResult> {
  return withRepoLock(repo, { command: 'fsck' }, () => {
    let expected = new Map<string, { size?: number; usedBy: string }>();
    let tracked: Tracked[] = [];
    try {
      tracked = allTracked(repo);
      expected = neededObjects(repo, tracked).objects;
    } catch {
      // A broken pointer must not stop the cache check; sizes are then just unknown.
    }
    const state = new StateDb(repo.tmpDir);
    const result: FsckResult = { checked: 0, bytes: 0, problems: [], missingManifests: [] };
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
    return result;
  });
}
