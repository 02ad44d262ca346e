/**
 * What the workspace holds at a path checkout is about to replace or remove, looked at without
 * `.mloignore` rules and without following symlinks. The walks that status and checkout make leave
 * ignored files out (they are not tracked), but they are still the user's: before checkout writes
 * over a path or removes a folder, every file there must be in the cache or the user must say --force.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { hasObject } from '../cache/objects.js';
import { cacheLinkHash } from './cachelink.js';
import { scanFile, type ScanContext } from './scan.js';
import { visitTree, type IgnoreRules } from './walk.js';

/** `file` is a regular file or a link into the cache (cache.type symlink); `symlink` is any other link. */
export type Held = { kind: 'absent' } | { kind: 'file'; hash: string } | { kind: 'symlink' } | { kind: 'dir' } | { kind: 'other' };

const NO_RULES: IgnoreRules = { ignores: () => false, key: '' };

/** What is at `rel` (relative to the root; its folders are known to be real folders). Hashes a file. */
export function heldAt(ctx: ScanContext, rel: string): Held {
  const abs = join(ctx.repo.root, rel);
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (!st) return { kind: 'absent' };
  if (st.isFile()) return { kind: 'file', hash: scanFile(ctx, rel, abs, st, { store: false }).hash };
  if (st.isDirectory()) return { kind: 'dir' };
  if (st.isSymbolicLink()) {
    const hash = cacheLinkHash(ctx.repo.cacheDir, abs);
    return hash ? { kind: 'file', hash } : { kind: 'symlink' };
  }
  return { kind: 'other' };
}

/**
 * The paths at or under `rel` whose content the cache does not hold: files (ignored ones included)
 * whose hash it lacks, symlinks other than cache links, sockets and the like. `known` maps paths
 * (relative to the root) to hashes already computed, so only the files the caller did not see
 * (the ignored ones) are read.
 */
export function uncachedUnder(ctx: ScanContext, rel: string, known: Map<string, string> = new Map()): string[] {
  const { repo } = ctx;
  const cached = (hash: string | undefined) => hash !== undefined && hasObject(repo.cacheDir, hash);
  const held = heldAt(ctx, rel);
  if (held.kind === 'absent') return [];
  if (held.kind === 'file') return cached(known.get(rel) ?? held.hash) ? [] : [rel];
  if (held.kind !== 'dir') return [rel];
  const out: string[] = [];
  const dirAbs = join(repo.root, rel);
  // The native walker reports only folders, files and symlinks; the JavaScript one matches it.
  visitTree(dirAbs, rel, NO_RULES, {
    file(fileRel, ino, mtimeMs, ctimeMs, size, mode) {
      const path = `${rel}/${fileRel}`;
      const hash = known.get(path) ?? scanFile(ctx, path, `${dirAbs}/${fileRel}`, { ino, mtimeMs, ctimeMs, size, mode }, { store: false }).hash;
      if (!cached(hash)) out.push(path);
      return true;
    },
    symlink(linkRel) {
      const path = `${rel}/${linkRel}`;
      if (!cached(cacheLinkHash(repo.cacheDir, `${dirAbs}/${linkRel}`))) out.push(path);
    },
  });
  return out;
}
