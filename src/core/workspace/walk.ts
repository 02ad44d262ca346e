/**
 * Walks a tracked directory in the workspace: regular files with their stat, honouring `.mloignore`
 * (gitignore syntax, read from the repository root). Symlinks are not followed and not tracked: a
 * link's target may lie outside the repository, and following it would version bytes the repository
 * does not own. They are reported so the command can warn.
 */
import type { Ignore } from 'ignore';
import { createRequire } from 'node:module';
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

/** Decides whether a path (relative to the repository root; directories end in '/') is ignored. */
export interface IgnoreRules {
  ignores(path: string): boolean;
}

/**
 * The `.mloignore` rules of a repository. The usual rules name only a basename (`*.pyc`,
 * `__pycache__/`): those compile to one regular expression on the last path segment, which is ~10x
 * cheaper than the general matcher on a 50,000-file walk. Anything else (slashes, negation) uses the
 * `ignore` package, which implements gitignore fully.
 */
export function loadIgnore(root: string): IgnoreRules {
  const file = join(root, IGNORE_FILE);
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const rules = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const simple = rules.every((r) => /^[^/!\\]+\/?$/.test(r));
  if (!simple) {
    // The general matcher loads only when a rule needs it (~5 ms of start-up otherwise).
    const ignore = createRequire(import.meta.url)('ignore') as () => Ignore;
    const ig = ignore().add(text);
    return { ignores: (p) => ig.ignores(p) };
  }
  const toSource = (r: string) => r.replace(/\/$/, '').replace(/[.+^${}()|]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  const files = rules.filter((r) => !r.endsWith('/')).map(toSource);
  const dirs = rules.map(toSource);
  const fileRe = files.length ? new RegExp(`^(?:${files.join('|')})$`) : undefined;
  const dirRe = dirs.length ? new RegExp(`^(?:${dirs.join('|')})$`) : undefined;
  return {
    ignores(p) {
      const isDir = p.endsWith('/');
      const path = isDir ? p.slice(0, -1) : p;
      const name = path.slice(path.lastIndexOf('/') + 1);
      return Boolean(isDir ? dirRe?.test(name) : fileRe?.test(name));
    },
  };
}

/**
 * `dirRelToRoot` is the directory's path from the repository root (for matching ignore rules).
 * Files come back in no particular order; callers sort when order matters.
 */
export function walkDir(dirAbs: string, dirRelToRoot: string, ig: IgnoreRules): WalkResult {
  const files: WalkedFile[] = [];
  const symlinks: string[] = [];
  const visit = (abs: string, rel: string) => {
    for (const ent of readdirSync(abs, { withFileTypes: true })) {
      const name = ent.name;
      if (name.startsWith(TEMP_PREFIX)) continue;
      const childRel = rel ? `${rel}/${name}` : name;
      const childAbs = `${abs}/${name}`;
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
