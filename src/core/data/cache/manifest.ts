/**
 * A directory is stored as a manifest object: its files sorted by path, each with hash, size and the
 * executable bit. The manifest's own hash, suffixed `.dir`, names the directory (as DVC does), so two
 * directories with the same files share one manifest and diffing two versions is a merge of two lists.
 */
import { readFileSync } from 'node:fs';
import { MloError, errnoCode } from '../../../base/errors.js';
import { hashBytes } from '../hash/blake3.js';
import { FILE_HASH_MESSAGE, FILE_HASH_RE, POINTER_SUFFIX, SAFE_PATH_MESSAGE, isSafeRelPath } from '../pointer/paths.js';
import { objectPath, writeObjectBytes } from './objects.js';

export interface ManifestEntry {
  path: string;
  hash: string;
  size: number;
  exec?: boolean;
}

export interface BuiltManifest {
  hash: string;
  bytes: Buffer;
  size: number;
  files: number;
}

/** Byte order, not locale order, so every machine computes the same manifest. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function buildManifest(entries: ManifestEntry[]): BuiltManifest {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  // Keys in a fixed order and `exec` only when set: the bytes (and so the hash) are canonical.
  const canonical = sorted.map((e) => (e.exec ? { path: e.path, hash: e.hash, size: e.size, exec: true } : { path: e.path, hash: e.hash, size: e.size }));
  const bytes = Buffer.from(JSON.stringify({ schema: 1, entries: canonical }));
  let size = 0;
  for (const e of sorted) size += e.size;
  return { hash: `${hashBytes(bytes)}.dir`, bytes, size, files: sorted.length };
}

/** Stores a freshly built manifest; one known from a snapshot (no bytes) is already in the cache. */
export function storeManifest(cacheDir: string, manifest: { hash: string; bytes?: Buffer }): void {
  if (manifest.bytes) writeObjectBytes(cacheDir, manifest.hash, manifest.bytes);
}

/**
 * Reads and verifies a manifest object; undefined when it is not in the cache. `owner` (the tracked
 * folder, and its pointer file) names it in errors.
 */
export function readManifest(cacheDir: string, hash: string, owner?: string): ManifestEntry[] | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(objectPath(cacheDir, hash));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  return parseManifest(bytes, hash, owner);
}

export function parseManifest(bytes: Buffer, hash: string, owner?: string): ManifestEntry[] {
  const name = `directory manifest ${hash.slice(0, 12)}${owner ? ` of ${owner}` : ''}`;
  if (`${hashBytes(bytes)}.dir` !== hash) {
    throw new MloError('MLO_CORRUPT_OBJECT', `${name} in the cache is corrupt (its content does not match its hash)`, {
      hint: 'remove it with `mlo fsck --remove` and fetch it again with `mlo fetch`',
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    doc = undefined;
  }
  const problem = manifestProblem(doc);
  if (problem) {
    throw new MloError('MLO_BAD_MANIFEST', `${name}: ${problem}`, {
      hint: 'the manifest was not written by this mlo (another tool, a newer version, or by hand); it is not used: fix or remove the pointer that names it',
    });
  }
  return (doc as { entries: ManifestEntry[] }).entries;
}

const ENTRY_KEYS = new Set(['path', 'hash', 'size', 'exec']);

/**
 * What is wrong with a parsed manifest, as "where: what", or undefined when it is valid. Checked by
 * hand rather than with zod: a manifest can list millions of entries, and every path in it must be
 * safe before mlo writes anything there. mlo writes entries in byte order, each path once; a crafted
 * manifest that repeats a path (which copy wins?), lists a path both as a file and as a folder, or
 * places a `*.mlo` file (which every later command would read as a broken pointer) is refused.
 */
function manifestProblem(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return '(top level): not a JSON object';
  const top = doc as Record<string, unknown>;
  for (const key of Object.keys(top)) if (key !== 'schema' && key !== 'entries') return `(top level): unknown key '${key}'`;
  if (top.schema !== 1) return 'schema: must be 1';
  if (!Array.isArray(top.entries)) return 'entries: must be a list';
  const entries = top.entries as unknown[];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Record<string, unknown>;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return `entries.${i}: must be an object`;
    for (const key in e) if (!ENTRY_KEYS.has(key)) return `entries.${i}: unknown key '${key}'`;
    if (typeof e.path !== 'string' || !isSafeRelPath(e.path)) return `entries.${i}.path: ${SAFE_PATH_MESSAGE}`;
    if (typeof e.hash !== 'string' || !FILE_HASH_RE.test(e.hash)) return `entries.${i}.hash: ${FILE_HASH_MESSAGE}`;
    if (typeof e.size !== 'number' || !Number.isSafeInteger(e.size) || e.size < 0) return `entries.${i}.size: must be a whole number of bytes`;
    if (e.exec !== undefined && typeof e.exec !== 'boolean') return `entries.${i}.exec: must be true or false`;
    if (e.path.split('/').some((seg) => seg.endsWith(POINTER_SUFFIX)))
      return `entries.${i}.path: '${clip(e.path)}' ends in ${POINTER_SUFFIX}, which mlo reads as a pointer file`;
    if (i > 0) {
      const order = comparePaths((entries[i - 1] as ManifestEntry).path, e.path);
      if (order === 0) return `entries.${i}.path: '${clip(e.path)}' is listed twice`;
      if (order > 0) return `entries.${i}.path: '${clip(e.path)}' is out of order (entries must be sorted by path, byte order)`;
    }
  }
  return folderFileClash(entries as ManifestEntry[]);
}

/** A path listed as a file while another entry lies below it (`a` and `a/b`): it cannot be both. */
function folderFileClash(entries: ManifestEntry[]): string | undefined {
  const files = new Set(entries.map((e) => e.path));
  for (let i = 0; i < entries.length; i++) {
    const p = entries[i].path;
    for (let at = p.indexOf('/'); at >= 0; at = p.indexOf('/', at + 1)) {
      if (files.has(p.slice(0, at))) return `entries.${i}.path: '${clip(p)}' lies inside '${clip(p.slice(0, at))}', which is listed as a file`;
    }
  }
  return undefined;
}

/** A path from a stranger's manifest, at most 200 characters in a message. */
function clip(p: string): string {
  return p.length > 200 ? `${p.slice(0, 200)}...` : p;
}
