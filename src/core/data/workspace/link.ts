/**
 * Puts a cache object into the workspace with the configured link type, tried in order (default:
 * reflink, then copy). Reflinks and copies give the workspace its own inode, so editing the file in
 * place can never change the cached object (dvc #799). Hardlinks and symlinks share the object itself:
 * they are opt-in, and the object stays read-only so an in-place edit fails instead of corrupting it.
 * Missing folders are created without following symlinks (folders.ts): a link never lands outside the
 * repository through a symlinked folder.
 */
import { chmodSync, constants, copyFileSync, linkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LinkType } from '../../repo/config.js';
import { objectPath } from '../cache/objects.js';
import { errnoCode } from '../../../base/errors.js';
import { tempName } from '../../../base/fs.js';
import type { Repo } from '../../repo/repo.js';
import { createFolderMaker } from './folders.js';

/** Errors that mean "this filesystem cannot do this link type": try the next one. */
const UNSUPPORTED = new Set(['EOPNOTSUPP', 'ENOTSUP', 'EXDEV', 'EINVAL', 'ENOSYS', 'EPERM', 'EMLINK']);

export interface Linker {
  /**
   * Replaces `destAbs` (atomically) with the object `hash`. Returns the link type used. Throws
   * MLO_SYMLINK_IN_PATH when a folder on the way is a symlink.
   */
  link(hash: string, destAbs: string, exec: boolean): LinkType;
}

export function createLinker(repo: Repo, types: LinkType[] = repo.config.cache.type): Linker {
  let candidates = [...types];
  // One per linker: each folder is checked once, however many files it receives.
  const folders = createFolderMaker(repo.root);
  return {
    link(hash, destAbs, exec) {
      const src = objectPath(repo.cacheDir, hash);
      folders.ensure(dirname(destAbs));
      for (;;) {
        const type = candidates[0];
        if (type === undefined) {
          throw new Error(`none of the link types ${types.join(', ')} works on this filesystem`);
        }
        // A sibling temp file: the rename into place then never crosses filesystems.
        const tmp = tempName(destAbs);
        try {
          makeLink(type, src, tmp, exec);
          renameSync(tmp, destAbs);
          return type;
        } catch (err) {
          rmSync(tmp, { force: true });
          if (candidates.length > 1 && UNSUPPORTED.has(errnoCode(err) ?? '')) {
            candidates = candidates.slice(1);
            continue;
          }
          throw err;
        }
      }
    },
  };
}

function makeLink(type: LinkType, src: string, tmp: string, exec: boolean): void {
  switch (type) {
    case 'reflink':
      copyFileSync(src, tmp, constants.COPYFILE_FICLONE_FORCE);
      chmodSync(tmp, exec ? 0o755 : 0o644);
      return;
    case 'copy':
      copyFileSync(src, tmp);
      chmodSync(tmp, exec ? 0o755 : 0o644);
      return;
    case 'hardlink':
      linkSync(src, tmp);
      return;
    case 'symlink':
      symlinkSync(src, tmp);
      return;
  }
}

/** The first link type in `types` that works in this repository (for `mlo doctor`). */
export function probeLinkType(repo: Repo, probeObject: string, types: LinkType[]): LinkType | undefined {
  for (const type of types) {
    const tmp = tempName(join(repo.root, 'probe'));
    try {
      makeLink(type, probeObject, tmp, false);
      return type;
    } catch {
      // Not supported here; try the next type.
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  return undefined;
}
