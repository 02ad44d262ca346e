/**
 * Before a stage with a `persist` out runs, the out's files that share a cache object (hardlinks and
 * symlinks, with `cache.type` hardlink or symlink) are replaced by writable copies, as DVC's
 * `unprotect` does: the command may then edit them in place, and the read-only object in the cache
 * keeps its bytes. Outs that are not persistent are deleted instead, so they never need this.
 */
import { chmodSync, copyFileSync, lstatSync, readdirSync, realpathSync, renameSync, rmSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import { explainFsError } from '../../base/errors.js';
import { tempName } from '../../base/fs.js';
import type { Repo } from '../repo/repo.js';

export function unprotect(repo: Repo, rel: string): void {
  const abs = join(repo.root, rel);
  const st = lstatSync(abs, { throwIfNoEntry: false });
  if (!st) return;
  let cacheReal: string;
  try {
    cacheReal = realpathSync(repo.cacheDir);
  } catch {
    return; // No cache yet: nothing can link into it.
  }
  visit(abs, rel, st, cacheReal);
}

function visit(abs: string, rel: string, st: Stats, cacheReal: string): void {
  if (st.isDirectory()) {
    for (const name of readdirSync(abs)) {
      const childAbs = join(abs, name);
      const child = lstatSync(childAbs, { throwIfNoEntry: false });
      if (child) visit(childAbs, `${rel}/${name}`, child, cacheReal);
    }
    return;
  }
  if (st.isSymbolicLink()) {
    let target: string;
    try {
      target = realpathSync(abs);
    } catch {
      return; // A dangling link: the command replaces it or the scan reports it.
    }
    if (target.startsWith(cacheReal + sep)) copyInPlace(target, abs, rel, false);
    return;
  }
  // A hardlinked file shares its inode with the object (or another workspace file).
  if (st.isFile() && st.nlink > 1) copyInPlace(abs, abs, rel, (st.mode & 0o100) !== 0);
}

/** Replaces `destAbs` by a writable copy of `srcAbs`, atomically (temp file beside it, then rename). */
function copyInPlace(srcAbs: string, destAbs: string, rel: string, exec: boolean): void {
  const tmp = tempName(destAbs);
  try {
    copyFileSync(srcAbs, tmp);
    chmodSync(tmp, exec ? 0o755 : 0o644);
    renameSync(tmp, destAbs);
  } catch (err) {
    rmSync(tmp, { force: true });
    explainFsError(err, rel);
  }
}
