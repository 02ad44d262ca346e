/**
 * Parsed mlo.yaml and mlo.lock, kept as JSON in `.mlo/tmp/parsed/` and reused while the files they came
 * from (and the params files templating read) keep their inode, mtime and size. The yaml parser costs
 * ~4 ms per 10 stages, which made a no-op `mlo run` of 1,000 stages spend most of its time re-parsing
 * YAML that had not changed; JSON.parse of the same data is ~30x faster. Losing the cache only costs speed.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import type { Repo } from '../repo.js';
import { RACY_MS } from '../state.js';

interface InputStat {
  path: string;
  ino?: number;
  mtimeMs?: number;
  size?: number;
  missing?: boolean;
}

const VERSION = 1;

function statOf(root: string, path: string): InputStat {
  try {
    const st = statSync(join(root, path));
    return { path, ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { path, missing: true };
    throw err;
  }
}

function same(a: InputStat, b: InputStat): boolean {
  return a.missing ? Boolean(b.missing) : !b.missing && a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size;
}

/**
 * The value `parse` returns for the current files, from the cache when every input is unchanged.
 * `parse` returns the value and the root-relative files it read.
 */
export function readThroughCache<T>(repo: Repo, name: string, parse: () => { value: T; inputs: string[] }): T {
  const file = join(repo.tmpDir, 'parsed', `${name}.json`);
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as { v: number; inputs: InputStat[]; value: T };
    if (cached.v === VERSION && cached.inputs.every((i) => same(i, statOf(repo.root, i.path)))) return cached.value;
  } catch (err) {
    // Missing or unreadable: parse below.
    if (errnoCode(err) !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
  }
  const before = Date.now();
  const { value, inputs } = parse();
  const stats = [...new Set(inputs)].map((p) => statOf(repo.root, p));
  // A file written within the mtime granularity may change again without its mtime moving: not cached.
  if (stats.every((s) => s.missing || before - (s.mtimeMs ?? 0) >= RACY_MS)) {
    try {
      writeFileAtomic(file, JSON.stringify({ v: VERSION, inputs: stats, value }), { fsync: false });
    } catch {
      // Read-only .mlo/tmp: the cache is only an optimization.
    }
  }
  return value;
}
