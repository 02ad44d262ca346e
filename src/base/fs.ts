/**
 * Crash-safe file writes: write a temp file in the same folder, fsync, rename over the target.
 * A reader (or a process killed half-way) sees the old file or the new one, never a torn one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { explainFsError } from './errors.js';

/** Temp files mlo leaves behind only if killed; the workspace walker skips them. */
export const TEMP_PREFIX = '.mlo-tmp-';

/**
 * Unique to this process and thread: the pid, plus a random stem drawn when the module loads (each
 * worker thread loads its own copy). Neither node:crypto nor node:worker_threads is loaded for it:
 * together they cost ~4 ms of every command's start-up.
 */
export const PROCESS_STEM = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
const tempStem = `${PROCESS_STEM}-`;
let tempCounter = 0;

/** A temp file name beside `target` that no other process or thread uses. */
export function tempName(target: string): string {
  return join(dirname(target), `${TEMP_PREFIX}${tempStem}${(tempCounter++).toString(36)}`);
}

export function writeFileAtomic(target: string, data: string | Uint8Array, options: { mode?: number; fsync?: boolean } = {}): void {
  mkdirSync(dirname(target), { recursive: true });
  const tmp = tempName(target);
  const fd = openSync(tmp, 'wx', options.mode ?? 0o644);
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    if (options.fsync !== false) fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** POSIX path of `p` relative to `root`, using forward slashes whatever the platform. */
export function toPosix(p: string): string {
  return p.split('\\').join('/');
}

/** Opens a file for reading; a missing or unreadable file becomes an MloError naming `displayName`. */
export function openForReading(file: string, displayName = file): number {
  try {
    return openSync(file, 'r');
  } catch (err) {
    explainFsError(err, displayName);
  }
}

/**
 * Linux stamps mtime from a coarse clock (a few ms), so a file rewritten within that tick keeps its
 * mtime: a "racily clean" entry, as git calls it. Entries whose mtime is this close to the moment they
 * were hashed are not trusted later and get hashed again.
 */
export const RACY_MS = 50;

/**
 * Whether a file whose stat shows these times was changed too close to `at` (a Date.now() taken before
 * its content was read) for that stat to vouch for the content later. ctime counts as well as mtime:
 * a rewrite that puts an old mtime back leaves only the ctime to tell it from the next one.
 */
export function isRacy(st: { mtimeMs: number; ctimeMs: number }, at: number): boolean {
  return at - Math.max(st.mtimeMs, st.ctimeMs) < RACY_MS;
}
