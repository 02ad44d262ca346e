/**
 * Content hashing. BLAKE3 from @napi-rs/blake-hash: measured 3.8 GB/s here, against 0.32 GB/s for
 * Node's sha256 and 0.55 GB/s for md5 (DVC's algorithm); hashing is the bottleneck of add and status.
 */
import type * as BlakeHash from '@napi-rs/blake-hash';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

export const HASH_ALGO = 'blake3';
export const HASH_RE = /^[0-9a-f]{64}(\.dir)?$/;

/** Files up to this size are read whole and hashed in one call; larger ones are streamed. */
export const SMALL_FILE = 8 << 20;

let chunk: Buffer | undefined;

/**
 * The native hasher, loaded on first use: loading it costs ~14 ms, and a status or no-op run that
 * finds every file unchanged never hashes anything.
 */
let native: typeof BlakeHash | undefined;
function blake(): typeof BlakeHash {
  native ??= createRequire(import.meta.url)('@napi-rs/blake-hash') as typeof BlakeHash;
  return native;
}

/** A streaming BLAKE3 hasher (update, then digest('hex')). */
export function newHasher(): BlakeHash.Blake3Hasher {
  return new (blake().Blake3Hasher)();
}

export function hashBytes(bytes: Uint8Array): string {
  return blake().blake3(bytes).toString('hex');
}

export interface HashedFile {
  hash: string;
  size: number;
  /** The file's bytes when it was small enough to read whole (saves a second read when caching). */
  bytes?: Buffer;
}

/** Files up to this size are read into one reused buffer when the caller allows it (see hashFd). */
const SCRATCH_SIZE = 1 << 20;
let scratch: Buffer | undefined;

/**
 * Hashes an open file: small files are read whole (and returned as `bytes`), larger ones streamed
 * through one reused 8 MiB buffer. With `reuseBuffer`, a file of up to 1 MiB is read into a buffer
 * that the next call overwrites: for callers that use `bytes` at once (the hashing workers store 50,000
 * small files without allocating, and collecting, 50,000 buffers).
 */
export function hashFd(fd: number, size: number, { reuseBuffer = false } = {}): HashedFile {
  if (size <= SMALL_FILE) {
    const bytes = reuseBuffer && size <= SCRATCH_SIZE ? (scratch ??= Buffer.allocUnsafeSlow(SCRATCH_SIZE)).subarray(0, size) : Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, bytes, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    const body = off === size ? bytes : bytes.subarray(0, off);
    return { hash: hashBytes(body), size: off, bytes: body };
  }
  chunk ??= Buffer.allocUnsafe(SMALL_FILE);
  const hasher = newHasher();
  let total = 0;
  for (;;) {
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    hasher.update(n === chunk.length ? chunk : chunk.subarray(0, n));
    total += n;
  }
  return { hash: hasher.digest('hex'), size: total };
}

export function hashFile(path: string): HashedFile {
  const fd = openSync(path, 'r');
  try {
    return hashFd(fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

export function isDirHash(hash: string): boolean {
  return hash.endsWith('.dir');
}

/**
 * Hashes a large file reading the next chunk on libuv's thread pool while the current one is hashed
 * on this thread (measured on a 1 GiB file from page cache: 146 ms against 168 ms for the plain loop).
 */
export async function hashLargeFile(path: string, onBytes?: (n: number) => void): Promise<HashedFile & { ino: number; mtimeMs: number; ctimeMs: number }> {
  const { open } = await import('node:fs/promises');
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    const buffers = [Buffer.allocUnsafe(SMALL_FILE), Buffer.allocUnsafe(SMALL_FILE)];
    const hasher = newHasher();
    let current = 0;
    let position = 0;
    let pending = fh.read(buffers[0], 0, SMALL_FILE, 0);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      position += bytesRead;
      const chunk = buffers[current];
      current ^= 1;
      pending = fh.read(buffers[current], 0, SMALL_FILE, position);
      hasher.update(bytesRead === SMALL_FILE ? chunk : chunk.subarray(0, bytesRead));
      onBytes?.(bytesRead);
    }
    return { hash: hasher.digest('hex'), size: position, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
  } finally {
    await fh.close();
  }
}
