/** Keeps tracked data out of git: `mlo add data/raw` writes `/raw` to `data/.gitignore`. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../fsutil.js';

export function ignoreInGit(root: string, rel: string): boolean {
  const file = join(root, dirname(rel), '.gitignore');
  const entry = `/${basename(rel)}`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = text.split(/\r?\n/);
  if (lines.includes(entry)) return false;
  const prefix = text.length === 0 || text.endsWith('\n') ? text : `${text}\n`;
  writeFileAtomic(file, `${prefix}${entry}\n`, { fsync: false });
  return true;
}
