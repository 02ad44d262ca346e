/**
 * `mlo status`: for each tracked path, whether the workspace matches its pointer (clean, modified,
 * deleted) and whether the cache holds its content; inside a directory, the files added, modified and
 * deleted. A directory whose manifest the cache lacks is damage, never clean: its files cannot be
 * listed, and gc refuses to run until the manifest is back. So is a pointer whose recorded size or file
 * count disagrees with the cached object (see sizes.ts).
 */
import { hasObject } from './cache/objects.js';
import { missingObjects } from './cache/presence.js';
import type { Repo } from '../repo/repo.js';
import { resolveTargets } from './tracked.js';
import { openScan } from './workspace/scan.js';
import { compareItem, isClean } from './workspace/compare.js';
import { markSnapshotPresent } from './workspace/snapshot.js';
import { measure, sizeMismatch, type SizeMismatch } from './sizes.js';

export interface StatusEntry {
  path: string;
  kind: 'file' | 'dir';
  status: 'clean' | 'modified' | 'deleted';
  /** False when the cache lacks the content the pointer names (run mlo fetch / mlo pull). */
  inCache: boolean;
  missingObjects: number;
  /** A directory whose manifest is not in the cache (fetch it again; gc refuses meanwhile). */
  manifestMissing: boolean;
  added: string[];
  modified: string[];
  deleted: string[];
  pointerFile?: string;
  stage?: string;
  /** The pointer or lock entry records a size or file count its cached object does not have (damage). */
  sizeMismatch?: SizeMismatch;
}

export interface StatusOptions {
  cwd: string;
  targets?: string[];
}

export function statusTargets(repo: Repo, options: StatusOptions): StatusEntry[] {
  const items = resolveTargets(repo, options.cwd, options.targets);
  const ctx = openScan(repo);
  try {
    return items.map((item) => {
      const c = compareItem(ctx, item);
      let missing: number;
      // Checked before the snapshot's word that the directory is present: a manifest deleted by hand
      // or by `fsck --remove` leaves a workspace that still matches its pointer.
      const manifestMissing = c.kind === 'dir' && (c.manifestMissing || !hasObject(repo.cacheDir, item.hash));
      if (c.kind === 'file') missing = hasObject(repo.cacheDir, item.hash) ? 0 : 1;
      else if (manifestMissing) missing = 1;
      else if (isClean(c) && c.current?.kind === 'dir' && c.current.knownPresent) missing = 0;
      else {
        missing = missingObjects(
          repo.cacheDir,
          c.wanted().map((e) => e.hash),
        ).size;
        if (missing === 0 && isClean(c)) markSnapshotPresent(repo, item.path);
      }
      const status = c.deleted ? 'deleted' : isClean(c) ? 'clean' : 'modified';
      const scanned = c.current?.kind === 'dir' ? c.current.manifest : undefined;
      const mismatch = manifestMissing ? undefined : sizeMismatch(item, measure(repo, item, scanned));
      return {
        path: item.subpath ? `${item.path}/${item.subpath}` : item.path,
        kind: c.kind,
        status,
        inCache: missing === 0,
        missingObjects: missing,
        manifestMissing,
        added: c.added.map((f) => f.path),
        modified: c.modified.map((f) => f.path),
        deleted: c.kind === 'dir' && !c.deleted ? c.removed.map((f) => f.path) : [],
        pointerFile: item.pointerFile,
        stage: item.stage,
        ...(mismatch ? { sizeMismatch: mismatch } : {}),
      };
    });
  } finally {
    ctx.state.close();
  }
}
