/**
 * A directory is stored as a manifest object: its files sorted by path, each with hash, size and the
 * executable bit. The manifest's own hash, suffixed `.dir`, names the directory (as DVC does), so two
 * directories with the same files share one manifest and diffing two versions is a merge of two lists.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MloError, errnoCode } from '../errors.js';
import { hashBytes } from '../hash/blake3.js';
import { safeRelPath, fileHashSchema } from '../pointer/schema.js';
import { objectPath, writeObjectBytes } from './objects.js';

export const manifestEntrySchema = z
  .object({
    path: safeRelPath,
    hash: fileHashSchema,
    size: z.number().int().nonnegative(),
    exec: z.boolean().optional(),
  })
  .strict();

export const manifestSchema = z.object({ schema: z.literal(1), entries: z.array(manifestEntrySchema) }).strict();

export type ManifestEntry = z.infer<typeof manifestEntrySchema>;

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

/** Reads and verifies a manifest object; undefined when it is not in the cache. */
export function readManifest(cacheDir: string, hash: string): ManifestEntry[] | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(objectPath(cacheDir, hash));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  return parseManifest(bytes, hash);
}

export function parseManifest(bytes: Buffer, hash: string): ManifestEntry[] {
  if (`${hashBytes(bytes)}.dir` !== hash) {
    throw new MloError('MLO_CORRUPT_OBJECT', `directory manifest ${hash.slice(0, 12)} in the cache is corrupt (its content does not match its hash)`, {
      hint: 'remove it with `mlo fsck --remove` and fetch it again with `mlo fetch`',
    });
  }
  const parsed = manifestSchema.safeParse(JSON.parse(bytes.toString('utf8')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MloError('MLO_BAD_MANIFEST', `directory manifest ${hash.slice(0, 12)}: ${issue.path.join('.')}: ${issue.message}`, {
      hint: 'the manifest was written by a different tool or a newer mlo; it is not used',
    });
  }
  return parsed.data.entries;
}
