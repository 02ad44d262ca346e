/**
 * Walks a tracked directory in the workspace: regular files with their stat, honouring `.mloignore`
 * (gitignore syntax, read from the repository root). Symlinks are not followed and not tracked: a
 * link's target may lie outside the repository, and following it would version bytes the repository
 * does not own. They are reported so the command can warn.
 */
import ignore, { type Ignore } from 'ignore';
import { existsSync, lstatSync, readFileSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { TEMP_PREFIX } from '../fsutil.js';

export interface WalkedFile {
  /** Path relative to the walked directory, with forward slashes. */
  rel: string;
  abs: string;
  stat: Stats;
}

export interface WalkResult {
  files: WalkedFile[];
  symlinks: string[];
}

export const IGNORE_FILE = '.mloignore';

/** The `.mloignore` rules of a repository; paths given to it are relative to the repository root. */
export function loadIgnore(root: string): Ignore {
  const ig = ignore();
  const file = join(root, IGNORE_FILE);
  if (existsSync(file)) ig.add(readFileSync(file, 'utf8'));
  return ig;
}

/**
 * `dirRelToRoot` is the directory's path from the repository root (for matching ignore rules).
 * Files come back in no particular order; callers sort when order matters.
 */
export function walkDir(dirAbs: string, dirRelToRoot: string, ig: Ignore): WalkResult {
  const files: WalkedFile[] = [];
  const symlinks: string[] = [];
  const visit = (abs: string, rel: string) => {
    for (const ent of readdirSync(abs, { withFileTypes: true })) {
      const name = ent.name;
      if (name.startsWith(TEMP_PREFIX)) continue;
      const childRel = rel ? `${rel}/${name}` : name;
      const childAbs = join(abs, name);
      const fromRoot = dirRelToRoot ? `${dirRelToRoot}/${childRel}` : childRel;
      if (ent.isDirectory()) {
        if (!ig.ignores(`${fromRoot}/`)) visit(childAbs, childRel);
      } else if (ent.isSymbolicLink()) {
        if (!ig.ignores(fromRoot)) symlinks.push(childRel);
      } else if (ent.isFile()) {
        if (!ig.ignores(fromRoot)) files.push({ rel: childRel, abs: childAbs, stat: lstatSync(childAbs) });
      }
    }
  };
  visit(dirAbs, '');
  return { files, symlinks };
}
