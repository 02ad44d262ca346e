/**
 * Which of many hashes the cache holds. A stat per object is fine for a few; for a large directory,
 * listing the 256 prefix folders once is far cheaper than tens of thousands of stats.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { objectPath } from './objects.js';

const LIST_THRESHOLD = 2000;

export function missingObjects(cacheDir: string, hashes: Iterable<string>): Set<string> {
  const unique = [...new Set(hashes)];
  const missing = new Set<string>();
  if (unique.length < LIST_THRESHOLD) {
    for (const h of unique) if (!existsSync(objectPath(cacheDir, h))) missing.add(h);
    return missing;
  }
  const listed = new Map<string, Set<string>>();
  for (const h of unique) {
    const prefix = h.slice(0, 2);
    let names = listed.get(prefix);
    if (!names) {
      const dir = join(cacheDir, prefix);
      names = new Set(existsSync(dir) ? readdirSync(dir) : []);
      listed.set(prefix, names);
    }
    if (!names.has(h.slice(2))) missing.add(h);
  }
  return missing;
}
