/**
 * Objects that arrive from elsewhere (a remote) enter the cache only through here: downloaded into the
 * cache's tmp/ folder, re-hashed, and renamed into place only when the bytes match the name. A corrupt
 * or tampered download is deleted where it lies and never becomes visible as an object.
 */
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { hashBytes, hashFile, isDirHash } from '../hash/blake3.js';
import { OBJECT_MODE, cacheTmpDir, hasObject, objectPath } from './objects.js';
import { parseManifest } from './manifest.js';

/** With `fsync`, objects at least this big are fsynced before the rename, as objects.ts does. */
const FSYNC_MIN = 1 << 20;

/** A fresh path in the cache's tmp folder (same filesystem as the objects, so the rename is atomic). */
export function newCacheTemp(cacheDir: string): string {
  const dir = cacheTmpDir(cacheDir);
  mkdirSync(dir, { recursive: true });
  return join(dir, `dl-${randomBytes(8).toString('hex')}`);
}

export type Verdict = { ok: true; size: number } | { ok: false; reason: string };

/**
 * Checks a downloaded file against the hash (and size, when known) it was fetched as. Directory
 * manifests must also parse, since their entries are trusted next.
 */
export function verifyDownload(tmp: string, hash: string, expectedSize?: number, streamed?: { hash: string; bytes: number }): Verdict {
  const size = statSync(tmp).size;
  if (expectedSize !== undefined && size !== expectedSize) return { ok: false, reason: `${size} bytes instead of ${expectedSize}` };
  if (isDirHash(hash)) {
    const bytes = readFileSync(tmp);
    if (`${hashBytes(bytes)}.dir` !== hash) return { ok: false, reason: 'its content does not match its hash' };
    parseManifest(bytes, hash);
    return { ok: true, size };
  }
  // The hash taken while the bytes arrived counts only if it covered exactly the file's bytes.
  const actual = streamed && streamed.bytes === size ? streamed.hash : hashFile(tmp).hash;
  return actual === hash ? { ok: true, size } : { ok: false, reason: 'its content does not match its hash' };
}

/**
 * Moves a verified temp file into the cache under `hash`, read-only. No-op (temp removed) if present.
 * Unlike objects made from workspace data, a downloaded object is not fsynced (measured: 0.3 s per
 * GiB here): the remote keeps the authoritative copy, and on ext4 and XFS a file lost in a crash
 * before writeback comes back empty, so its size no longer matches what the state database recorded
 * and checkout hashes it again and refuses it (`mlo fetch` gets it anew); the cache takes the same
 * bet for its objects under 1 MiB. Pass `fsync` to override.
 */
export function importVerified(cacheDir: string, hash: string, tmp: string, options: { fsync?: boolean } = {}): void {
  if (hasObject(cacheDir, hash)) {
    rmSync(tmp, { force: true });
    return;
  }
  if (options.fsync && statSync(tmp).size >= FSYNC_MIN) {
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
  chmodSync(tmp, OBJECT_MODE);
  mkdirSync(join(cacheDir, hash.slice(0, 2)), { recursive: true });
  renameSync(tmp, objectPath(cacheDir, hash));
}
