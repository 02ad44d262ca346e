/**
 * Parsed files (mlo.yaml, mlo.lock, params files, the config), kept as JSON in `.mlo/tmp/parsed/` and
 * reused while the files they came from keep their inode, mtime, ctime and size. Written with mode
 * 0600: the config one may hold credentials from config.local.yaml. The yaml parser costs
 * ~4 ms per 10 stages, which made a no-op `mlo run` of 1,000 stages spend most of its time re-parsing
 * YAML that had not changed; JSON.parse of the same data is ~30x faster. Losing the cache only costs speed.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../../base/errors.js';
import { writeFileAtomic } from '../../base/fs.js';
import { RACY_MS } from '../../base/fs.js';

interface InputStat {
  path: string;
  ino?: number;
  mtimeMs?: number;
  /** Also compared (as git does): an in-place rewrite that puts the old mtime back still moves it. */
  ctimeMs?: number;
  size?: number;
  missing?: boolean;
}

/** Changed whenever the shape of a cached value changes (3: the config keeps where `cache.dir` came from; 4: its `queue` section). */
const VERSION = 4;

function statOf(root: string, path: string): InputStat {
  try {
    const st = statSync(join(root, path));
    return { path, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size };
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { path, missing: true };
    throw err;
  }
}

function same(a: InputStat, b: InputStat): boolean {
  return a.missing ? Boolean(b.missing) : !b.missing && a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.size === b.size;
}

/** Where the cache lives and what its paths are relative to (a Repo will do). */
export interface CacheHome {
  root: string;
  tmpDir: string;
}

/** The cached value for `name` when every file it came from is unchanged, else undefined. */
export function readCached<T>(home: CacheHome, name: string): T | undefined {
  const file = join(home.tmpDir, 'parsed', `${name}.json`);
  try {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as { v: number; inputs: InputStat[]; value: T };
    if (cached.v === VERSION && cached.inputs.every((i) => same(i, statOf(home.root, i.path)))) return cached.value;
  } catch (err) {
    // Missing or unreadable: the caller parses.
    if (errnoCode(err) !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
  }
  return undefined;
}

/**
 * Caches `value`, parsed from `inputs` (root-relative) by a parse that started at `startedAt`
 * (Date.now()). A file written within the mtime granularity of that moment may change again without
 * its mtime moving (git's "racy clean"): then nothing is cached.
 */
export function writeCached(home: CacheHome, name: string, value: unknown, inputs: string[], startedAt: number): void {
  const stats = [...new Set(inputs)].map((p) => statOf(home.root, p));
  if (!stats.every((s) => s.missing || startedAt - (s.mtimeMs ?? 0) >= RACY_MS)) return;
  try {
    writeFileAtomic(join(home.tmpDir, 'parsed', `${name}.json`), JSON.stringify({ v: VERSION, inputs: stats, value }), { fsync: false, mode: 0o600 });
  } catch {
    // Read-only .mlo/tmp: the cache is only an optimization.
  }
}

/**
 * The value `parse` returns for the current files, from the cache when every input is unchanged.
 * `parse` returns the value and the root-relative files it read.
 */
export function readThroughCache<T>(home: CacheHome, name: string, parse: () => { value: T; inputs: string[] }): T {
  const hit = readCached<T>(home, name);
  if (hit !== undefined) return hit;
  const startedAt = Date.now();
  const { value, inputs } = parse();
  writeCached(home, name, value, inputs, startedAt);
  return value;
}
