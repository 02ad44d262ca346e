/**
 * Keeps tracked data out of git: `mlo add data/raw` writes `/raw` to `data/.gitignore`. Entries are
 * escaped so that git matches exactly the one name (`a[1].txt` would otherwise also ignore `a1.txt`,
 * and only ignore `a1.txt`, letting the data itself into git).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MloError } from '../../../base/errors.js';
import { writeFileAtomic } from '../../../base/fs.js';

/** Throws unless `rel`'s last segment can be written as a .gitignore entry (a line cannot hold a line break). */
export function checkIgnorableName(rel: string): void {
  const name = basename(rel);
  if (/[\r\n]/.test(name)) {
    throw new MloError('MLO_UNSUPPORTED_NAME', `${JSON.stringify(rel)}: a name with a line break cannot be listed in .gitignore`, {
      hint: 'rename it without the line break, then add it (otherwise git would not ignore it and the data would end up in git)',
    });
  }
}

/** The .gitignore line (anchored with `/`) that matches exactly `name` in its folder. */
export function gitignoreEntry(name: string): string {
  checkIgnorableName(name);
  // With the leading `/`, a `!` or `#` in the name is not at the start of the line, so needs no escape.
  let escaped = name.replace(/[\\[\]*?]/g, '\\$&');
  const trailing = /( +)$/.exec(escaped);
  if (trailing) escaped = escaped.slice(0, trailing.index) + '\\ '.repeat(trailing[1].length);
  return `/${escaped}`;
}

/**
 * The one name a .gitignore line matches in its own folder when it is an anchored literal (`/name`),
 * read as git reads it (comments, negation, unescaped trailing spaces, backslash escapes); undefined for
 * any other line (wildcards, directory-only `name/`, deeper paths).
 */
export function literalOfEntry(line: string): string | undefined {
  if (!line.startsWith('/')) return undefined;
  let name = '';
  let spaces = '';
  for (let i = 1; i < line.length; i++) {
    let c = line[i];
    if (c === ' ') {
      spaces += c;
      continue;
    }
    if (c === '\\') {
      if (++i === line.length) return undefined;
      c = line[i];
    } else if (c === '*' || c === '?' || c === '[' || c === '/') {
      return undefined;
    }
    name += spaces + c;
    spaces = '';
  }
  return name === '' ? undefined : name;
}

export function ignoreInGit(root: string, rel: string): boolean {
  const file = join(root, dirname(rel), '.gitignore');
  const name = basename(rel);
  const entry = gitignoreEntry(name);
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = text.split('\n');
  const plain = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);
  if (lines.some((line) => literalOfEntry(plain(line)) === name)) return false;
  // Earlier versions wrote `/name` unescaped: such a line matches other names (`/a[1].txt` ignores
  // `a1.txt`), so it is corrected in place rather than left beside the new entry.
  const legacy = lines.findIndex((line) => plain(line) === `/${name}`);
  if (legacy >= 0) {
    const fixed = lines.flatMap((line, i) =>
      i === legacy ? [line.endsWith('\r') ? `${entry}\r` : entry] : i > legacy && plain(line) === `/${name}` ? [] : [line],
    );
    writeFileAtomic(file, fixed.join('\n'), { fsync: false });
    return true;
  }
  const prefix = text.length === 0 || text.endsWith('\n') ? text : `${text}\n`;
  writeFileAtomic(file, `${prefix}${entry}\n`, { fsync: false });
  return true;
}
