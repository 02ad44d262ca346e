/**
 * The content-addressed cache: an object with hash `h` lives at `<cache>/<h[0:2]>/<h[2:]>`, read-only.
 * Objects are written to `<cache>/tmp/` and renamed into place, so a process killed at any moment leaves
 * either no object or a whole one, never a partial one under an object's name.
 */
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  type Dirent,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { HASH_RE } from '../hash/blake3.js';
import { PROCESS_STEM } from '../../../base/fs.js';

export const OBJECT_MODE = 0o444;
/** Objects at least this big are fsynced before the rename; smaller ones rely on the rename alone. */
const FSYNC_MIN = 1 << 20;

export function objectPath(cacheDir: string, hash: string): string {
  return join(cacheDir, hash.slice(0, 2), hash.slice(2));
}

export function cacheTmpDir(cacheDir: string): string {
  return join(cacheDir, 'tmp');
}

export function hasObject(cacheDir: string, hash: string): boolean {
  return existsSync(objectPath(cacheDir, hash));
}

/**
 * Folders known to exist, so adding 50,000 files does not cost 100,000 mkdir calls. A folder removed
 * behind our back (clearCacheTmp) is dropped from the set; publish() retries once on ENOENT.
 */
const madeDirs = new Set<string>();

function ensureDir(dir: string): void {
  if (madeDirs.has(dir)) return;
  mkdirSync(dir, { recursive: true });
  madeDirs.add(dir);
}

let tempCounter = 0;

/** Temp files inside object folders; never a valid object name (listObjects skips them, gc removes old ones). */
export const OBJECT_TEMP_PREFIX = '.tmp-';

/** Unique per process and thread (PROCESS_STEM) plus a counter: no random-number call per file (~3 µs each on 50,000 files). */
function newTemp(cacheDir: string): string {
  const dir = cacheTmpDir(cacheDir);
  ensureDir(dir);
  return join(dir, `${PROCESS_STEM}-${(tempCounter++).toString(36)}`);
}

function publish(cacheDir: string, hash: string, tmp: string, alreadyReadOnly = false): void {
  if (!alreadyReadOnly) chmodSync(tmp, OBJECT_MODE);
  const dir = join(cacheDir, hash.slice(0, 2));
  ensureDir(dir);
  try {
    renameSync(tmp, join(dir, hash.slice(2)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !madeDirs.delete(dir)) throw err;
    ensureDir(dir);
    renameSync(tmp, join(dir, hash.slice(2)));
  }
}

/** Stores bytes already in memory under `hash` (the caller hashed them). No-op if present. */
export function writeObjectBytes(cacheDir: string, hash: string, bytes: Uint8Array): boolean {
  if (hasObject(cacheDir, hash)) return false;
  // The temp file sits in the object's own folder (as git does for loose objects): the rename stays
  // within one directory, and parallel writers spread over 256 folders instead of contending for one.
  const dir = join(cacheDir, hash.slice(0, 2));
  ensureDir(dir);
  const tmp = join(dir, `${OBJECT_TEMP_PREFIX}${PROCESS_STEM}-${(tempCounter++).toString(36)}`);
  try {
    // Created read-only: the mode applies to later opens, this descriptor may still write.
    const fd = openSync(tmp, 'wx', OBJECT_MODE);
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      if (bytes.length >= FSYNC_MIN) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    publish(cacheDir, hash, tmp, true);
    return true;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Stores the file at `src` under `hash` by copying it, as a reflink where the filesystem can (an O(1)
 * clone that shares no writable inode with the workspace). No-op if present.
 */
export function copyFileToObject(cacheDir: string, hash: string, src: string, beforePublish?: () => void): boolean {
  if (hasObject(cacheDir, hash)) return false;
  const tmp = newTemp(cacheDir);
  try {
    copyFileSync(src, tmp, constants.COPYFILE_FICLONE);
    beforePublish?.();
    if (statSync(tmp).size >= FSYNC_MIN) {
      const fd = openSync(tmp, 'r+');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    publish(cacheDir, hash, tmp);
    return true;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Whether FICLONE works from the workspace into this cache; learned on the first small file. */
let smallReflinks: boolean | undefined;

/** The errors that mean "this filesystem (pair) cannot clone", as opposed to a real failure. */
const NO_CLONE = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EINVAL', 'ENOSYS', 'ENOTTY']);

/**
 * Stores a small file the caller has just read and hashed. Where the filesystem can clone, the object
 * is a reflink of `src` (no data written, no space used: the point of the reflink default); else the
 * bytes in memory are written. `beforePublish` throws if `src` changed since it was read, since the
 * clone would then not match the hash. Returns whether this call stored the object.
 */
export function storeSmallFile(cacheDir: string, hash: string, src: string, bytes: Uint8Array, beforePublish: () => void): boolean {
  if (smallReflinks !== false) {
    if (hasObject(cacheDir, hash)) return false;
    const tmp = newTemp(cacheDir);
    try {
      copyFileSync(src, tmp, constants.COPYFILE_FICLONE_FORCE);
      smallReflinks = true;
      beforePublish();
      publish(cacheDir, hash, tmp);
      return true;
    } catch (err) {
      rmSync(tmp, { force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (smallReflinks === true || code === undefined || !NO_CLONE.has(code)) throw err;
      smallReflinks = false;
    }
  }
  return writeObjectBytes(cacheDir, hash, bytes);
}

/**
 * Stores a large file while it is being hashed: the copy (a reflink where the filesystem can, else a
 * kernel copy on libuv's thread pool) runs during `hashing`, so on a filesystem without reflinks
 * `add` costs about the longer of the two rather than their sum. `beforePublish` runs once both are
 * done and throws if the file changed meanwhile (the copy might then not match the hash). Returns the
 * hash and whether this call stored the object.
 */
export async function copyFileToObjectWhileHashing<H extends { hash: string }>(
  cacheDir: string,
  src: string,
  hashing: Promise<H>,
  beforePublish: (hashed: H) => void,
): Promise<{ hashed: H; stored: boolean }> {
  const { copyFile } = await import('node:fs/promises');
  const tmp = newTemp(cacheDir);
  try {
    const [hashed] = await Promise.all([hashing, copyFile(src, tmp, constants.COPYFILE_FICLONE)]);
    if (hasObject(cacheDir, hashed.hash)) {
      rmSync(tmp, { force: true });
      return { hashed, stored: false };
    }
    beforePublish(hashed);
    if (statSync(tmp).size >= FSYNC_MIN) {
      const fd = openSync(tmp, 'r+');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    publish(cacheDir, hashed.hash, tmp);
    return { hashed, stored: true };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * The names mlo gives its files in `<cache>/tmp/`: newTemp's `<pid>-<random>-<n>`, a download's
 * `dl-<hex>` (import.ts) and doctor's probe `doctor-<pid>`. Cleanup removes nothing else.
 */
const CACHE_TEMP_RE = /^(?:\d+-[0-9a-z]+-[0-9a-z]+|dl-[0-9a-f]+|doctor-\d+)$/;

/**
 * Removes leftovers of killed processes. Only files older than an hour go: a cache can be shared by
 * several workspaces (queue workers, `cache.dir`), whose writers do not hold this repository's lock.
 * Confined to what mlo itself leaves there: regular files with mlo's temp names, by lstat, never a
 * folder or a link, and nothing when tmp/ itself is not a real folder, so a cache folder that holds
 * someone else's files (a `cache.dir` pointed at the wrong place) loses none of them.
 */
export function clearCacheTmp(cacheDir: string, maxAgeMs = 60 * 60 * 1000): void {
  const dir = cacheTmpDir(cacheDir);
  let entries: Dirent[];
  try {
    if (!lstatSync(dir).isDirectory()) return;
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  const cutoff = Date.now() - maxAgeMs;
  for (const entry of entries) {
    if (!entry.isFile() || !CACHE_TEMP_RE.test(entry.name)) continue;
    const file = join(dir, entry.name);
    try {
      if (lstatSync(file).mtimeMs < cutoff) rmSync(file, { force: true });
    } catch {
      // Renamed into the cache or removed by its writer meanwhile.
    }
  }
}

/** Removes temp files left in object folders by killed writers (gc calls it; it lists every folder). */
export function removeStaleObjectTemps(cacheDir: string, maxAgeMs = 60 * 60 * 1000): number {
  if (!existsSync(cacheDir)) return 0;
  const cutoff = Date.now() - maxAgeMs;
  let removed = 0;
  for (const prefix of readdirSync(cacheDir)) {
    if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
    for (const name of readdirSync(join(cacheDir, prefix))) {
      if (!name.startsWith(OBJECT_TEMP_PREFIX)) continue;
      const file = join(cacheDir, prefix, name);
      try {
        if (statSync(file).mtimeMs < cutoff) {
          rmSync(file, { force: true });
          removed++;
        }
      } catch {
        // Published or removed by its writer meanwhile.
      }
    }
  }
  return removed;
}

export interface CachedObject {
  hash: string;
  path: string;
  size: number;
}

/** Every object in the cache (skips tmp/ and anything whose name is not a hash). */
export function* listObjects(cacheDir: string): Generator<CachedObject> {
  if (!existsSync(cacheDir)) return;
  for (const prefix of readdirSync(cacheDir)) {
    if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
    const dir = join(cacheDir, prefix);
    for (const rest of readdirSync(dir)) {
      const hash = prefix + rest;
      if (!HASH_RE.test(hash)) continue;
      const path = join(dir, rest);
      yield { hash, path, size: statSync(path).size };
    }
  }
}
