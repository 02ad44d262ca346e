/**
 * Whether the size (and file count) a pointer or mlo.lock entry records agrees with what the cache
 * holds. The hash vouches for the content, but the size is a separate field that a stranger's pointer
 * can set to anything; mlo reports a disagreement as damage (status, fsck) and refuses to check out
 * such a file, instead of showing or summing a number nobody measured.
 */
import { statSync } from 'node:fs';
import { MloError } from '../../base/errors.js';
import { readManifest } from './cache/manifest.js';
import { objectPath } from './cache/objects.js';
import { isDirHash } from './hash/blake3.js';
import type { Repo } from '../repo/repo.js';
import { ownerOf, sourceOf, type Tracked } from './tracked.js';

export interface Measured {
  size: number;
  /** Directories only. */
  files?: number;
}

export interface SizeMismatch {
  path: string;
  hash: string;
  /** The pointer file or mlo.lock entry that records the wrong number. */
  source: string;
  recorded: Measured;
  actual: Measured;
}

/**
 * What the cache holds for `item`: a file object's length, or a directory's total and file count from
 * its manifest (`known` when a scan already has them for this hash). Undefined when the object or the
 * manifest is not in the cache: that is reported as missing, not as a size problem.
 */
export function measure(repo: Repo, item: Tracked, known?: { hash: string; size: number; files: number }): Measured | undefined {
  if (!isDirHash(item.hash)) {
    const st = statSync(objectPath(repo.cacheDir, item.hash), { throwIfNoEntry: false });
    return st ? { size: st.size } : undefined;
  }
  if (known?.hash === item.hash) return { size: known.size, files: known.files };
  const entries = readManifest(repo.cacheDir, item.hash, ownerOf(item));
  if (!entries) return undefined;
  let size = 0;
  for (const e of entries) size += e.size;
  return { size, files: entries.length };
}

/** The disagreement between `item`'s recorded size and `actual`, or undefined when they agree. */
export function sizeMismatch(item: Tracked, actual: Measured | undefined): SizeMismatch | undefined {
  if (!actual) return undefined;
  const filesDiffer = item.files !== undefined && actual.files !== undefined && item.files !== actual.files;
  if (item.size === actual.size && !filesDiffer) return undefined;
  const recorded: Measured = item.files === undefined ? { size: item.size } : { size: item.size, files: item.files };
  return { path: item.path, hash: item.hash, source: sourceOf(item), recorded, actual };
}

/** "records 99 bytes, the object holds 3" (or the file counts): the heart of every size message. */
export function describeMismatch(m: SizeMismatch): string {
  if (m.recorded.size !== m.actual.size) {
    const holder = m.actual.files === undefined ? "the cache's object holds" : 'the files its manifest lists add up to';
    return `records ${m.recorded.size} bytes, ${holder} ${m.actual.size}`;
  }
  return `records ${m.recorded.files} files, the directory's manifest lists ${m.actual.files}`;
}

export function sizeMismatchError(m: SizeMismatch): MloError {
  return new MloError('MLO_SIZE_MISMATCH', `${m.source}: ${m.path} ${describeMismatch(m)}`, {
    hint: `run mlo fsck: if the object is sound, the pointer is damaged or was edited (restore it from git, or run mlo add ${m.path} on the right data)`,
    meta: { mismatch: m },
  });
}
