/**
 * `mlo diff [A [B]]`: tracked files added, modified and deleted between two git revisions, or between
 * a revision (default HEAD) and the workspace. Directories are compared file by file when their
 * manifests are in the cache.
 */
import { readManifest, type ManifestEntry } from './cache/manifest.js';
import { headCommit } from '../../base/git.js';
import { isDirHash } from './hash/blake3.js';
import type { Repo } from '../repo/repo.js';
import { trackedAtRev } from './revisions.js';
import { allTracked, ownerOf, type Tracked } from './tracked.js';
import { openScan } from './workspace/scan.js';
import { scanPath } from './workspace/scan.js';

export interface DiffEntry {
  path: string;
  oldHash?: string;
  newHash?: string;
  size?: number;
}

export interface DiffResult {
  a: string;
  b: string;
  added: DiffEntry[];
  modified: DiffEntry[];
  deleted: DiffEntry[];
  /** Directories whose manifest is not in the cache: changed, but file-level detail is unknown. */
  unexpanded: string[];
}

interface Side {
  /** path -> content; a directory carries its entries when known. */
  items: Map<string, { hash: string; size: number; entries?: ManifestEntry[] }>;
}

export async function diffRevisions(repo: Repo, options: { a?: string; b?: string; targets?: string[] }): Promise<DiffResult> {
  const aRev = options.a ?? 'HEAD';
  // In a repository with no commit yet, HEAD tracks nothing and everything in the workspace is new.
  const aItems = aRev !== 'HEAD' || headCommit(repo.root) ? await trackedAtRev(repo, aRev) : [];
  const a = sideOf(repo, aItems);
  const b = options.b ? sideOf(repo, await trackedAtRev(repo, options.b)) : workspaceSide(repo);
  const inScope = (p: string) => !options.targets?.length || options.targets.some((t) => p === t || p.startsWith(`${t.replace(/\/$/, '')}/`));
  const result: DiffResult = { a: aRev, b: options.b ?? 'workspace', added: [], modified: [], deleted: [], unexpanded: [] };
  const paths = new Set([...a.items.keys(), ...b.items.keys()]);
  for (const path of [...paths].sort()) {
    const x = a.items.get(path);
    const y = b.items.get(path);
    if (x && y && x.hash === y.hash) continue;
    if (x?.entries || y?.entries) {
      if ((x && !x.entries && isDirHash(x.hash)) || (y && !y.entries && isDirHash(y.hash))) {
        result.unexpanded.push(path);
        if (inScope(path)) result.modified.push({ path, oldHash: x?.hash, newHash: y?.hash, size: y?.size });
        continue;
      }
      diffEntries(
        path,
        x?.entries ?? (x ? [{ path: '', hash: x.hash, size: x.size }] : []),
        y?.entries ?? (y ? [{ path: '', hash: y.hash, size: y.size }] : []),
        result,
        inScope,
      );
      continue;
    }
    if (!inScope(path)) continue;
    if (!x) result.added.push({ path, newHash: y!.hash, size: y!.size });
    else if (!y) result.deleted.push({ path, oldHash: x.hash, size: x.size });
    else result.modified.push({ path, oldHash: x.hash, newHash: y.hash, size: y.size });
  }
  return result;
}

function diffEntries(base: string, xs: ManifestEntry[], ys: ManifestEntry[], result: DiffResult, inScope: (p: string) => boolean): void {
  const full = (p: string) => (p ? `${base}/${p}` : base);
  const xm = new Map(xs.map((e) => [e.path, e]));
  for (const y of ys) {
    const x = xm.get(y.path);
    xm.delete(y.path);
    if (!inScope(full(y.path))) continue;
    if (!x) result.added.push({ path: full(y.path), newHash: y.hash, size: y.size });
    else if (x.hash !== y.hash) result.modified.push({ path: full(y.path), oldHash: x.hash, newHash: y.hash, size: y.size });
  }
  for (const x of xm.values()) if (inScope(full(x.path))) result.deleted.push({ path: full(x.path), oldHash: x.hash, size: x.size });
}

function sideOf(repo: Repo, items: Tracked[]): Side {
  const map: Side['items'] = new Map();
  for (const t of items) {
    const entries = isDirHash(t.hash) ? readManifest(repo.cacheDir, t.hash, ownerOf(t)) : undefined;
    map.set(t.path, { hash: t.hash, size: t.size, entries });
  }
  return { items: map };
}

/** The workspace side: what tracked paths hold now, hashed through the state database. */
function workspaceSide(repo: Repo): Side {
  const ctx = openScan(repo);
  const map: Side['items'] = new Map();
  try {
    for (const t of allTracked(repo)) {
      const s = scanPath(ctx, t.path, { store: false });
      if (!s) continue;
      if (s.kind === 'file') map.set(t.path, { hash: s.hash, size: s.size });
      else map.set(t.path, { hash: s.manifest.hash, size: s.manifest.size, entries: s.entries });
    }
  } finally {
    ctx.state.close();
  }
  return { items: map };
}
