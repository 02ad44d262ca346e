/**
 * Checks that a cache object still holds the bytes its name promises before it is linked into the
 * workspace or uploaded. The state database remembers objects already verified (by inode, mtime,
 * ctime and size, under the key `obj:<hash>`), so each object is re-hashed only once unless it is
 * touched. ctime matters most here: objects are read-only, so changing one takes a chmod and a write,
 * and a tool that restores the mtime afterwards (touch -r, rsync -t) cannot restore the ctime. Bit rot
 * changes no stat at all: that is `mlo fsck`'s job.
 */
import { lstatSync, type Stats } from 'node:fs';
import { MloError, errnoCode } from '../../../base/errors.js';
import { hashBytes, hashFile, isDirHash } from '../hash/blake3.js';
import { WRITTEN_BY_MLO, statKey, type StatKey, type StateDb } from '../state.js';
import { objectPath } from './objects.js';
import { readFileSync } from 'node:fs';

export type ObjectHealth = 'ok' | 'missing' | 'corrupt';

export function stateKeyOfObject(hash: string): string {
  return `obj:${hash}`;
}

export function checkObject(cacheDir: string, state: StateDb | undefined, hash: string, options: { force?: boolean } = {}): ObjectHealth {
  const path = objectPath(cacheDir, hash);
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'missing';
    throw err;
  }
  const key = objectStatKey(st);
  if (!options.force && state?.lookup(stateKeyOfObject(hash), key) === hash) return 'ok';
  const actual = isDirHash(hash) ? `${hashBytes(readFileSync(path))}.dir` : hashFile(path).hash;
  if (actual !== hash) return 'corrupt';
  state?.record(stateKeyOfObject(hash), key, hash, WRITTEN_BY_MLO);
  return 'ok';
}

/** Records an object mlo has just written from bytes it hashed itself. */
export function markVerified(cacheDir: string, state: StateDb, hash: string): void {
  state.record(stateKeyOfObject(hash), objectStatKey(lstatSync(objectPath(cacheDir, hash))), hash, WRITTEN_BY_MLO);
}

/** The state key of an object (see the header). */
export function objectStatKey(st: Stats): StatKey {
  return statKey(st);
}

export function corruptObjectError(hash: string, usedBy: string): MloError {
  return new MloError('MLO_CORRUPT_OBJECT', `cache object ${hash.slice(0, 12)} (needed by ${usedBy}) is corrupt: its content does not match its hash`, {
    hint: 'run `mlo fsck --remove` to delete corrupt objects, then `mlo fetch` (or `mlo add` the original data again)',
    meta: { hash, path: usedBy },
  });
}
