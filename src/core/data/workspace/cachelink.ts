/**
 * Symlinks into the cache, which `cache.type: symlink` puts in the workspace in place of files. Such a
 * link holds exactly the object its target names, and an object's name is its hash, so the hash is
 * read from the link without reading the object. Any other symlink is not tracked (see walk.ts).
 */
import { readlinkSync, statSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

const OBJECT_REL = /^([0-9a-f]{2})\/([0-9a-f]{62})$/;

/** The hash of the object `abs` links to, or undefined when it is not a link into `cacheDir`. */
export function cacheLinkHash(cacheDir: string, abs: string): string | undefined {
  let target: string;
  try {
    target = readlinkSync(abs);
  } catch {
    return undefined;
  }
  const m = OBJECT_REL.exec(
    relative(cacheDir, resolve(dirname(abs), target))
      .split('\\')
      .join('/'),
  );
  return m ? m[1] + m[2] : undefined;
}

/** A cache link as a scanned file: its hash, and the size of the object (0 when it is gone from the cache). */
export function scanCacheLink(cacheDir: string, abs: string): { hash: string; size: number; exec: boolean } | undefined {
  const hash = cacheLinkHash(cacheDir, abs);
  if (!hash) return undefined;
  const size = statSync(abs, { throwIfNoEntry: false })?.size ?? 0;
  // Objects are read-only and never executable: symlink mode cannot keep the executable bit.
  return { hash, size, exec: false };
}
