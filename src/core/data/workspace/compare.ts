/**
 * Compares what a tracked item should hold (its pointer or lock entry) with what the workspace holds.
 * Used by status (to report) and checkout (to decide what to write and delete).
 */
import { readManifest, type ManifestEntry } from '../cache/manifest.js';
import { isDirHash } from '../hash/blake3.js';
import { ownerOf, type Tracked } from '../tracked.js';
import { scanPath, type ScanContext, type Scanned } from './scan.js';

export interface FileChange {
  /** Path relative to the repo root. */
  path: string;
  want?: { hash: string; size: number; exec: boolean };
  have?: { hash: string; size: number };
}

export interface Comparison {
  item: Tracked;
  kind: 'file' | 'dir';
  /** Nothing at the tracked path in the workspace. */
  deleted: boolean;
  /** The directory manifest is not in the cache (file-level changes are then unknown). */
  manifestMissing: boolean;
  added: FileChange[];
  modified: FileChange[];
  removed: FileChange[];
  unchanged: number;
  current?: Scanned;
  /** The wanted files: a directory's manifest entries (read on first use), or the one file. */
  wanted(): ManifestEntry[];
}

export function compareItem(ctx: ScanContext, item: Tracked): Comparison {
  const isDir = isDirHash(item.hash);
  const current = scanPath(ctx, item.path, { store: false });
  const base: Comparison = {
    item,
    kind: isDir ? 'dir' : 'file',
    deleted: current === undefined,
    manifestMissing: false,
    added: [],
    modified: [],
    removed: [],
    unchanged: 0,
    current,
    wanted: () => [],
  };
  if (!isDir) {
    base.wanted = () => [{ path: '', hash: item.hash, size: item.size }];
    if (current?.kind === 'file') {
      if (current.hash === item.hash) base.unchanged = 1;
      else
        base.modified.push({
          path: item.path,
          want: { hash: item.hash, size: item.size, exec: current.exec },
          have: { hash: current.hash, size: current.size },
        });
    } else if (current?.kind === 'dir') {
      base.modified.push({ path: item.path, want: { hash: item.hash, size: item.size, exec: false } });
    }
    return base;
  }
  if (current?.kind === 'dir' && current.manifest.hash === item.hash) {
    // Same manifest hash: nothing changed, and the manifest need not even be read.
    base.unchanged = current.manifest.files;
    base.wanted = () => readManifest(ctx.repo.cacheDir, item.hash, ownerOf(item)) ?? [];
    return base;
  }
  const wanted = readManifest(ctx.repo.cacheDir, item.hash, ownerOf(item));
  if (!wanted) {
    base.manifestMissing = true;
    if (current && !(current.kind === 'dir' && current.manifest.hash === item.hash)) base.modified.push({ path: item.path });
    return base;
  }
  base.wanted = () => wanted;
  const inScope = (p: string) => !item.subpath || p === item.subpath || p.startsWith(`${item.subpath}/`);
  const haveMap = new Map<string, { hash: string; size: number }>();
  if (current?.kind === 'dir') {
    for (const e of current.entries) if (inScope(e.path)) haveMap.set(e.path, e);
  } else if (current?.kind === 'file') {
    base.modified.push({ path: item.path, have: { hash: current.hash, size: current.size } });
  }
  for (const w of wanted) {
    if (!inScope(w.path)) continue;
    const have = haveMap.get(w.path);
    const path = `${item.path}/${w.path}`;
    const want = { hash: w.hash, size: w.size, exec: Boolean(w.exec) };
    if (!have) base.removed.push({ path, want });
    else {
      haveMap.delete(w.path);
      if (have.hash === w.hash) base.unchanged++;
      else base.modified.push({ path, want, have });
    }
  }
  for (const [p, have] of haveMap) base.added.push({ path: `${item.path}/${p}`, have });
  return base;
}

export function isClean(c: Comparison): boolean {
  return !c.deleted && c.added.length === 0 && c.modified.length === 0 && c.removed.length === 0 && !c.manifestMissing;
}
