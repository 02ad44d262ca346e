/**
 * Directory snapshots, the fast path of `status` (git's index plays the same role): for a tracked
 * directory, the (inode, mtime, ctime, size) of every file at the moment its manifest was computed (ctime
 * as git checks it: a same-size rewrite that puts the old mtime back cannot put the ctime back). If a walk
 * finds exactly the same files with the same stats, the directory still has that manifest, and neither
 * the state database nor the manifest needs to be read (measured on 50,000 files: the SQLite lookups
 * and manifest parse were ~300 ms of a 1.2 s status). Snapshots live in `.mlo/tmp/snapshots/`; losing
 * them only costs speed.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../../../base/errors.js';
import { TEMP_PREFIX } from '../../../base/fs.js';
import type { Repo } from '../../repo/repo.js';
import { visitTree, type IgnoreRules, type WalkedFile } from './walk.js';

/**
 * Numbers per file in a snapshot: inode, mtime, ctime, size (the order native/fswalk.c compares).
 * Snapshots of another layout (format 1 had no ctime) are misses, rebuilt by the next scan.
 */
const STATS = 4;
const FORMAT = 2;

export interface DirSnapshot {
  hash: string;
  size: number;
  files: number;
  /** The cache generation at which every object of this manifest was known to be in the cache. */
  presentAt?: string;
  /** The `.mloignore` rules the walk applied (see IgnoreRules.key). */
  ignore?: string;
  /** File paths in the order the walk found them (readdir order, stable while a folder is unchanged). */
  readonly paths: string[];
  /** The same paths, '\0'-separated, as stored: what the native walker compares against. */
  pathBytes: Buffer;
  /** Index of each path in `paths`, built on first use. */
  readonly stats: Map<string, number>;
}

/**
 * The snapshot's file name: the directory's path, escaped (readable, and no hashing library to load);
 * a path too long for a file name gets a 64-bit FNV-1a digest instead. The header's `rel` is checked
 * on load, so a digest collision is a miss, never a wrong answer.
 */
function snapshotFile(repo: Repo, rel: string): string {
  const escaped = encodeURIComponent(rel);
  return join(repo.tmpDir, 'snapshots', escaped.length <= 200 ? escaped : `fnv-${fnv1a64(rel)}`);
}

function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text)) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  return hash.toString(16).padStart(16, '0');
}

/** A directory's snapshot, with its stats as a Float64Array of STATS numbers per file (inode, mtime, ctime, size). */
export function loadSnapshot(repo: Repo, rel: string): { snap: DirSnapshot; values: Float64Array } | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(snapshotFile(repo, rel));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const headerLen = buf.readUInt32LE(0);
    const header = JSON.parse(buf.subarray(4, 4 + headerLen).toString('utf8')) as Omit<DirSnapshot, 'stats' | 'paths' | 'pathBytes'> & {
      rel: string;
      pathsLen: number;
      format?: number;
    };
    // Snapshots from before the ignore rules (or ctimes) were recorded are rebuilt once.
    if (header.rel !== rel || typeof header.ignore !== 'string' || header.format !== FORMAT) return undefined;
    let off = 4 + headerLen;
    const pathBytes = buf.subarray(off, off + header.pathsLen);
    off += header.pathsLen;
    const values = new Float64Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + header.files * STATS * 8));
    if (values.length !== header.files * STATS) return undefined;
    // Splitting 50,000 paths into strings costs more than the native comparison that needs none of them.
    let paths: string[] | undefined;
    let stats: Map<string, number> | undefined;
    const snap: DirSnapshot = {
      hash: header.hash,
      size: header.size,
      files: header.files,
      presentAt: header.presentAt,
      ignore: header.ignore,
      pathBytes,
      get paths() {
        paths ??= header.files === 0 ? [] : pathBytes.toString('utf8').split('\0');
        return paths;
      },
      get stats() {
        stats ??= new Map(this.paths.map((p, i) => [p, i]));
        return stats;
      },
    };
    return { snap, values };
  } catch {
    return undefined; // A torn or foreign file is just a miss.
  }
}

/**
 * Walks a directory and checks it against a snapshot without keeping anything per file (on 50,000
 * files, holding every Stats object cost ~90 ms of garbage collection). Files are matched by position
 * first, by name when readdir order differs. Returns the symlinks seen when everything matches,
 * undefined at the first difference.
 */
export function verifyByWalk(loaded: { snap: DirSnapshot; values: Float64Array }, dirAbs: string, dirRelToRoot: string, ig: IgnoreRules): string[] | undefined {
  const { snap, values } = loaded;
  const symlinks: string[] = [];
  let n = 0;
  // The native walker may skip files it matched itself, but only under the rules the snapshot was made
  // with: a file the rules now ignore must count as a difference.
  const compareIn = snap.ignore === ig.key ? { names: snap.pathBytes, stats: values } : undefined;
  const walked = visitTree(
    dirAbs,
    dirRelToRoot,
    ig,
    {
      file(rel, ino, mtimeMs, ctimeMs, size) {
        const i = !compareIn && snap.paths[n] === rel ? n : snap.stats.get(rel);
        n++;
        if (i === undefined) return false;
        const s = i * STATS;
        return values[s] === ino && values[s + 1] === mtimeMs && values[s + 2] === ctimeMs && values[s + 3] === size;
      },
      symlink: (rel) => symlinks.push(rel),
    },
    compareIn,
  );
  return !walked.stopped && n + walked.matched === snap.files ? symlinks : undefined;
}

/** True when `files` are exactly the snapshot's files with the same inode, mtime, ctime and size. */
export function snapshotMatches(loaded: { snap: DirSnapshot; values: Float64Array }, files: WalkedFile[]): boolean {
  const { snap, values } = loaded;
  if (files.length !== snap.files) return false;
  for (const f of files) {
    const i = snap.stats.get(f.rel);
    if (i === undefined) return false;
    const st = f.stat;
    const s = i * STATS;
    if (values[s] !== st.ino || values[s + 1] !== st.mtimeMs || values[s + 2] !== st.ctimeMs || values[s + 3] !== st.size) return false;
  }
  return true;
}

/** What a snapshot keeps of each walked file. */
export interface SnapshotFile {
  rel: string;
  stat: { ino: number; mtimeMs: number; ctimeMs: number; size: number };
}

export function saveSnapshot(
  repo: Repo,
  rel: string,
  snap: { hash: string; size: number; presentAt?: string; ignore: string | undefined },
  files: SnapshotFile[],
): void {
  const paths = files.map((f) => f.rel);
  const pathBytes = Buffer.from(paths.join('\0'));
  const values = new Float64Array(files.length * STATS);
  files.forEach((f, i) => {
    const s = i * STATS;
    values[s] = f.stat.ino;
    values[s + 1] = f.stat.mtimeMs;
    values[s + 2] = f.stat.ctimeMs;
    values[s + 3] = f.stat.size;
  });
  const header = Buffer.from(
    JSON.stringify({
      rel,
      format: FORMAT,
      hash: snap.hash,
      size: snap.size,
      files: files.length,
      presentAt: snap.presentAt,
      ignore: snap.ignore,
      pathsLen: pathBytes.length,
    }),
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const file = snapshotFile(repo, rel);
  mkdirSync(join(repo.tmpDir, 'snapshots'), { recursive: true });
  const tmp = `${file}${TEMP_PREFIX}${process.pid}`;
  writeFileSync(tmp, Buffer.concat([len, header, pathBytes, Buffer.from(values.buffer)]));
  renameSync(tmp, file);
}

/**
 * A token that changes whenever objects may have been removed from the cache (gc, fsck --remove, or
 * the cache folder being replaced), so "every object was present" can be remembered safely.
 */
export function cacheGeneration(repo: Repo): string {
  let token = '0';
  try {
    token = readFileSync(join(repo.tmpDir, 'cache-gen'), 'utf8').trim();
  } catch {
    // Never bumped.
  }
  let ino = 0;
  try {
    ino = statSync(repo.cacheDir).ino;
  } catch {
    // No cache folder yet.
  }
  return `${token}:${ino}`;
}

export function bumpCacheGeneration(repo: Repo): void {
  mkdirSync(repo.tmpDir, { recursive: true });
  writeFileSync(join(repo.tmpDir, 'cache-gen'), `${Date.now()}-${process.pid}\n`);
}

/** Records that every object of a snapshot's manifest is in the cache now (status found none missing). */
export function markSnapshotPresent(repo: Repo, rel: string): void {
  const loaded = loadSnapshot(repo, rel);
  if (!loaded) return;
  const generation = cacheGeneration(repo);
  if (loaded.snap.presentAt === generation) return;
  resave(repo, rel, loaded, { presentAt: generation });
}

/**
 * Re-records a snapshot that a walk under different ignore rules (a new mlo's built-in rules, or an
 * edited .mloignore that excludes none of its files) just found unchanged: without this, every later
 * walk would compare its files in JavaScript instead of in the native walker (~25 ms on 50,000 files).
 */
export function refreshSnapshotRules(repo: Repo, rel: string, loaded: { snap: DirSnapshot; values: Float64Array }, ignore: string): void {
  if (loaded.snap.ignore === ignore) return;
  resave(repo, rel, loaded, { ignore });
}

function resave(repo: Repo, rel: string, loaded: { snap: DirSnapshot; values: Float64Array }, change: { presentAt?: string; ignore?: string }): void {
  const v = loaded.values;
  const files = [...loaded.snap.stats].map(([path, i]) => ({
    rel: path,
    stat: { ino: v[i * STATS], mtimeMs: v[i * STATS + 1], ctimeMs: v[i * STATS + 2], size: v[i * STATS + 3] },
  }));
  const { hash, size, presentAt, ignore } = loaded.snap;
  saveSnapshot(repo, rel, { hash, size, presentAt, ignore, ...change }, files);
}
