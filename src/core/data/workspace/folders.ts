/**
 * Folders on the way to a path mlo writes, looked at without following symlinks. A symlink where a
 * folder belongs may point anywhere (outside the repository, into another user's data): writing,
 * creating folders or deleting through it would touch bytes the repository does not own, so mlo never
 * does (git refuses too: "beyond a symbolic link"). Each folder is looked at once per command and
 * remembered: a checkout of 50,000 files in 500 folders costs ~500 lstat calls, not 50,000.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { MloError, errnoCode } from '../../../base/errors.js';

/**
 * What is on the way to a folder position: all real folders (`dir`), a missing folder (`absent`), or
 * a symlink or something else (a file...) at `at`: the position itself or its topmost such ancestor.
 */
export interface FolderState {
  kind: 'dir' | 'absent' | 'symlink' | 'other';
  at?: string;
}

const ROOT: FolderState = { kind: 'dir' };

/**
 * Looks at folder positions under `root` from the root down (read-only; for planning). Nothing below a
 * symlink is looked at: it would be looked at through the link.
 */
export function createFolderProbe(root: string): (rel: string) => FolderState {
  const seen = new Map<string, FolderState>();
  const look = (rel: string): FolderState => {
    if (rel === '' || rel === '.') return ROOT;
    const known = seen.get(rel);
    if (known) return known;
    const cut = rel.lastIndexOf('/');
    const parent = look(cut < 0 ? '' : rel.slice(0, cut));
    let found = parent;
    if (parent.kind === 'dir') {
      const st = lstatSync(join(root, rel), { throwIfNoEntry: false });
      if (!st) found = { kind: 'absent' };
      else if (!st.isDirectory()) found = { kind: st.isSymbolicLink() ? 'symlink' : 'other', at: rel };
    }
    seen.set(rel, found);
    return found;
  };
  return look;
}

export interface FolderMaker {
  /** Makes sure the folder `abs` (inside the root) and its ancestors are real folders, creating missing ones. */
  ensure(abs: string): void;
}

/**
 * Creates folders under `root` one level at a time, never following a symlink: a symlink (or a file)
 * where a folder belongs is an error. Callers that may replace such a link (checkout --force) do so
 * before writing.
 */
export function createFolderMaker(root: string): FolderMaker {
  const ready = new Set<string>();
  const ensureRel = (rel: string): void => {
    if (rel === '' || ready.has(rel)) return;
    const cut = rel.lastIndexOf('/');
    ensureRel(cut < 0 ? '' : rel.slice(0, cut));
    const abs = join(root, rel);
    let st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) {
      try {
        // Not recursive: the parent was just checked, and mkdir never follows a final symlink.
        mkdirSync(abs);
        ready.add(rel);
        return;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      st = lstatSync(abs);
    }
    if (st.isDirectory()) {
      ready.add(rel);
      return;
    }
    if (st.isSymbolicLink()) throw symlinkInPathError([rel]);
    throw new MloError('MLO_NOT_A_FOLDER', `${rel} is not a folder, and a folder is needed there`, {
      hint: `move ${rel} away, then run the command again`,
    });
  };
  return {
    ensure(abs) {
      const rel = relative(root, abs).split(sep).join('/');
      if (rel.startsWith('../') || rel === '..' || rel.startsWith('/')) {
        throw new Error(`internal: ${abs} is outside the repository ${root}`);
      }
      ensureRel(rel);
    },
  };
}

/** Symlinks where mlo needs a real folder or file: never written through (checkout --force replaces the link). */
export function symlinkInPathError(paths: string[], hint = 'move the link away (mlo never writes through a symlink), then run the command again'): MloError {
  const list = paths.slice(0, 3).join(', ') + (paths.length > 3 ? ` and ${paths.length - 3} more` : '');
  const what = paths.length === 1 ? 'is a symlink' : 'are symlinks';
  return new MloError('MLO_SYMLINK_IN_PATH', `${list} ${what} where a real folder or file is needed; mlo never writes through a symlink`, {
    hint,
    meta: { paths },
  });
}
