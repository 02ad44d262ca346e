/**
 * The path and hash rules every file mlo reads must obey, without the schema library: a path in a
 * pointer, manifest or lock is relative, uses forward slashes and never climbs out with `..`, so no
 * file can make mlo write outside the repository. The zod schemas in schema.ts use these same rules;
 * modules on the start-up path of `status` and `run` use them directly (zod costs ~8 ms to load).
 */
import { realpathSync } from 'node:fs';
import { posix, sep } from 'node:path';
import { MLO_DIR } from '../../repo/names.js';

export const POINTER_SUFFIX = '.mlo';

export const SAFE_PATH_MESSAGE = "must be a relative path inside the repository (no '..', no leading '/', no backslashes, no .git folder)";
export const COUNT_MESSAGE = 'must be a whole number from 0 to 9007199254740991 (2^53-1)';
export const FILE_HASH_RE = /^[0-9a-f]{64}$/;
export const FILE_HASH_MESSAGE = 'must be a 64-character blake3 hex digest';
export const ANY_HASH_RE = /^[0-9a-f]{64}(\.dir)?$/;
export const ANY_HASH_MESSAGE = "must be a 64-character blake3 hex digest (directories end in '.dir')";

/**
 * A path mlo may read or write below a folder: relative, in '/'-separated segments that are not empty,
 * '.' or '..', and never a `.git` folder in any letter case (git refuses those in trees for the same
 * reason: writing there rewrites a repository's config and hooks).
 */
export function isSafeRelPath(p: string): boolean {
  if (p.length === 0 || p.includes('\0') || p.includes('\\')) return false;
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return false;
  return p.split('/').every((seg) => seg !== '..' && seg !== '.' && seg !== '' && !isGitFolderName(seg));
}

/** A folder name that is git's own, in any letter case (case-insensitive file systems match them all). */
export function isGitFolderName(name: string): boolean {
  return name.length === 4 && name.toLowerCase() === '.git';
}

/** Whether a '/'-separated relative path goes through a `.git` folder. */
export function hasGitFolder(posixRel: string): boolean {
  return posixRel.split('/').some(isGitFolderName);
}

/** Whether a root-relative path is the repository's `.mlo/` folder or inside it. */
export function isMloDirPath(posixRel: string): boolean {
  return posixRel === MLO_DIR || posixRel.startsWith(`${MLO_DIR}/`);
}

/** A pointer file (`PATH.mlo`); schema.ts validates it. */
export interface Pointer {
  /** The tracked file or directory, relative to the pointer file's folder. */
  path: string;
  hash: string;
  algo: 'blake3';
  size: number;
  /** Number of files, for directories. */
  files?: number;
  /** Free-form description, kept when mlo rewrites the file. */
  desc?: string;
}

/**
 * The one "stays inside the repository" rule for a root-relative path named by a file or a request:
 * normalized ('a/./b' -> 'a/b', a trailing '/' dropped), and refused (undefined) when it climbs out,
 * is absolute, or goes into a `.git/` or `.mlo/` folder at any depth (the store, the local config and
 * credentials live there).
 */
export function insideRepoPath(p: string): string | undefined {
  if (p.includes('\\') || p.startsWith('/')) return undefined;
  const n = posix.normalize(p).replace(/\/+$/, '');
  // A `.mlo` folder at any depth: a nested project's store and local config are as private as ours.
  return isSafeRelPath(n) && !n.split('/').some((seg) => seg.toLowerCase() === MLO_DIR) ? n : undefined;
}

/**
 * Where `rel` really is below `root`, symlinks resolved: 'outside' when a link (committed in a clone)
 * leads out of the repository, undefined when the file does not exist.
 */
export function realInsideRepo(root: string, rel: string): string | 'outside' | undefined {
  let real: string;
  try {
    real = realpathSync(`${root}/${rel}`);
  } catch {
    return undefined;
  }
  return real.startsWith(realpathSync(root) + sep) ? real : 'outside';
}
