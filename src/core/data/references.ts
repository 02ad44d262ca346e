/**
 * Every object a set of tracked items needs: files, directory manifests and the files they list.
 * gc keeps these; push and fetch transfer them.
 */
import { readManifest } from './cache/manifest.js';
import { hasObject } from './cache/objects.js';
import { isDirHash } from './hash/blake3.js';
import type { Repo } from '../repo/repo.js';
import { ownerOf, type Tracked } from './tracked.js';

export interface NeededObject {
  hash: string;
  /** Expected size in bytes, when known (manifests: unknown until read). */
  size?: number;
  /** A tracked path that needs it, for error messages. */
  usedBy: string;
}

/**
 * Objects needed by `items`. A directory's manifest must be in the cache to list its files; the
 * manifests not found are returned in `unexpanded` (fetch downloads them first, then calls again).
 */
export function neededObjects(repo: Repo, items: Tracked[]): { objects: Map<string, NeededObject>; unexpanded: Tracked[] } {
  const objects = new Map<string, NeededObject>();
  const unexpanded: Tracked[] = [];
  for (const item of items) {
    if (!objects.has(item.hash)) objects.set(item.hash, { hash: item.hash, size: isDirHash(item.hash) ? undefined : item.size, usedBy: item.path });
    if (!isDirHash(item.hash)) continue;
    const entries = readManifest(repo.cacheDir, item.hash, ownerOf(item));
    if (!entries) {
      unexpanded.push(item);
      continue;
    }
    for (const e of entries) {
      if (item.subpath && !(e.path === item.subpath || e.path.startsWith(`${item.subpath}/`))) continue;
      if (!objects.has(e.hash)) objects.set(e.hash, { hash: e.hash, size: e.size, usedBy: `${item.path}/${e.path}` });
    }
  }
  return { objects, unexpanded };
}

/**
 * The directories among `items` whose manifest is not in the cache, each path and hash once. Nobody
 * can tell which file objects such a directory needs, so gc must not run and status and fsck report
 * it: deleting its files could lose the only copy (in `cache.type: symlink`, the workspace's too).
 */
export function missingManifests(repo: Repo, items: Tracked[]): Tracked[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    if (!isDirHash(t.hash) || hasObject(repo.cacheDir, t.hash)) return false;
    const key = `${t.path}\0${t.hash}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
