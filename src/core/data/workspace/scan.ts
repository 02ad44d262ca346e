/**
 * Computes what a tracked path holds now: a file's hash, or a directory's manifest. Unchanged files
 * (same inode, mtime, ctime and size as when last hashed) come from the state database and are not read.
 * With `store`, content that the cache lacks is written to it during the same read, so `add` and
 * `commit` read each changed file once.
 */
import { closeSync, fstatSync, lstatSync, openSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { copyFileToObject, hasObject, storeSmallFile } from '../cache/objects.js';
import { markVerified } from '../cache/verify.js';
import { buildManifest, readManifest, storeManifest, type ManifestEntry } from '../cache/manifest.js';
import { MloError, explainFsError } from '../../../base/errors.js';
import type { Repo } from '../../repo/repo.js';
import { hashFd } from '../hash/blake3.js';
import { isRacy } from '../../../base/fs.js';
import { StateDb, statKey, rowMatches, sameStat, type StateRow } from '../state.js';
import { scanCacheLink } from './cachelink.js';
import { cacheGeneration, loadSnapshot, refreshSnapshotRules, saveSnapshot, snapshotMatches, verifyByWalk, type DirSnapshot } from './snapshot.js';
import { loadIgnore, walkDir, type FileStat, type IgnoreRules, type WalkResult } from './walk.js';

export interface ScanContext {
  repo: Repo;
  state: StateDb;
  ignore: IgnoreRules;
  /** The cache generation, read once per command (a file read and a stat; `run` scans many folders). */
  generation?: string;
}

export interface ScanOptions {
  /** Write content the cache lacks into it. */
  store: boolean;
  onFile?: (bytes: number) => void;
  /** A walk of the directory just made by the caller, reused instead of walking again. */
  walked?: WalkResult;
  /** Hashes the caller has just stored, so the scan need not check the cache for them. */
  stored?: Set<string>;
  /** The state rows of the directory's files, when the caller already has them (add's hashing pool). */
  known?: Map<string, StateRow>;
}

export interface ScannedFile {
  kind: 'file';
  hash: string;
  size: number;
  exec: boolean;
}

export interface ScannedDir {
  kind: 'dir';
  /** `bytes` is set when the manifest was built now; from a snapshot it is already in the cache. */
  manifest: { hash: string; size: number; files: number; bytes?: Buffer };
  /** The directory's files (read from the cache on first use when the scan came from a snapshot). */
  readonly entries: ManifestEntry[];
  symlinks: string[];
  /** Every object the manifest lists was in the cache as of the snapshot, and none was removed since. */
  knownPresent: boolean;
}

export type Scanned = ScannedFile | ScannedDir;

export function isExecutable(st: { mode: number }): boolean {
  return (st.mode & 0o100) !== 0;
}

/** Opens the state database and reads `.mloignore`: what every scan needs. Close `state` when done. */
export function openScan(repo: Repo): ScanContext {
  return { repo, state: new StateDb(repo.tmpDir), ignore: loadIgnore(repo.root) };
}

/** Scans `rel` (relative to the repo root); undefined when nothing is there. */
export function scanPath(ctx: ScanContext, rel: string, options: ScanOptions): Scanned | undefined {
  const abs = join(ctx.repo.root, rel);
  let st: Stats;
  try {
    st = lstatSync(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    explainFsError(err, rel);
  }
  if (st.isDirectory()) return scanDir(ctx, rel, abs, options);
  if (st.isFile()) return { kind: 'file', ...scanFile(ctx, rel, abs, st, options) };
  const linked = st.isSymbolicLink() ? scanCacheLink(ctx.repo.cacheDir, abs) : undefined;
  if (linked) {
    options.onFile?.(0);
    return { kind: 'file', ...linked };
  }
  throw new MloError('MLO_UNSUPPORTED_FILE', `${rel} is neither a regular file nor a directory`, {
    hint: 'mlo tracks regular files and directories; symlinks, sockets and devices are not tracked',
  });
}

function scanDir(ctx: ScanContext, rel: string, abs: string, options: ScanOptions): ScannedDir {
  const { repo } = ctx;
  const generation = (ctx.generation ??= cacheGeneration(repo));
  const loaded = loadSnapshot(repo, rel);
  // When storing, a snapshot is enough only if the objects are known to be in the cache.
  const usable = loaded && hasObject(repo.cacheDir, loaded.snap.hash) && (!options.store || loaded.snap.presentAt === generation);
  let walked = options.walked;
  try {
    if (usable && !walked) {
      const symlinks = verifyByWalk(loaded, abs, rel, ctx.ignore);
      if (symlinks) {
        refreshSnapshotRules(repo, rel, loaded, ctx.ignore.key);
        return fromSnapshot(loaded.snap, repo, symlinks, generation, options);
      }
    }
    walked ??= walkDir(abs, rel, ctx.ignore);
  } catch (err) {
    explainFsError(err, rel);
  }
  if (usable && snapshotMatches(loaded, walked.files)) {
    refreshSnapshotRules(repo, rel, loaded, ctx.ignore.key);
    return fromSnapshot(loaded.snap, repo, walked.symlinks, generation, options);
  }
  const known = options.known ?? ctx.state.lookupPrefix(`${rel}/`);
  const startedAt = Date.now();
  let racy = false;
  const entries: ManifestEntry[] = walked.files.map((f) => {
    const fileRel = `${rel}/${f.rel}`;
    const row = known.get(fileRel);
    let hashed: { hash: string; size: number };
    if (row && rowMatches(row, statKey(f.stat)) && !(options.store && !options.stored?.has(row.hash) && !hasObject(repo.cacheDir, row.hash))) {
      hashed = { hash: row.hash, size: f.stat.size };
      options.onFile?.(0);
    } else {
      hashed = scanFile(ctx, fileRel, f.abs, f.stat, options);
    }
    if (isRacy(f.stat, startedAt)) racy = true;
    const entry: ManifestEntry = { path: f.rel, hash: hashed.hash, size: hashed.size };
    if (isExecutable(f.stat)) entry.exec = true;
    return entry;
  });
  // Files that cache.type symlink replaced by links into the cache (other symlinks stay untracked).
  const symlinks: string[] = [];
  for (const link of walked.symlinks) {
    const linked = scanCacheLink(repo.cacheDir, `${abs}/${link}`);
    if (!linked) {
      symlinks.push(link);
      continue;
    }
    entries.push({ path: link, hash: linked.hash, size: linked.size });
    options.onFile?.(0);
    // Snapshots record regular files only: a folder holding links is always compared in full.
    racy = true;
  }
  const manifest = buildManifest(entries);
  if (options.store) storeManifest(repo.cacheDir, manifest);
  // A snapshot may only name a manifest the cache holds: a later scan reads its entries from there.
  if (!racy && (options.store || hasObject(repo.cacheDir, manifest.hash)))
    saveSnapshot(
      repo,
      rel,
      { hash: manifest.hash, size: manifest.size, presentAt: options.store ? generation : undefined, ignore: ctx.ignore.key },
      walked.files,
    );
  return { kind: 'dir', manifest, entries, symlinks, knownPresent: options.store };
}

function fromSnapshot(snap: DirSnapshot, repo: Repo, symlinks: string[], generation: string, options: ScanOptions): ScannedDir {
  for (let i = 0; i < snap.files; i++) options.onFile?.(0);
  return lazyDir({ hash: snap.hash, size: snap.size, files: snap.files }, repo, symlinks, snap.presentAt === generation);
}

function lazyDir(manifest: ScannedDir['manifest'], repo: Repo, symlinks: string[], knownPresent: boolean): ScannedDir {
  let entries: ManifestEntry[] | undefined;
  return {
    kind: 'dir',
    manifest,
    symlinks,
    knownPresent,
    get entries() {
      entries ??= readManifest(repo.cacheDir, manifest.hash);
      if (!entries) {
        throw new MloError('MLO_MISSING_FROM_CACHE', `directory manifest ${manifest.hash.slice(0, 12)} is no longer in the cache`, {
          hint: 'run `mlo commit` for the directory to store it again',
        });
      }
      return entries;
    },
  };
}

/** Hashes one file (using the state database when it can), storing it in the cache if asked. */
export function scanFile(ctx: ScanContext, rel: string, abs: string, st: FileStat, options: ScanOptions): { hash: string; size: number; exec: boolean } {
  const key = statKey(st);
  const exec = isExecutable(st);
  const known = ctx.state.lookup(rel, key);
  if (known !== undefined && !(options.store && !hasObject(ctx.repo.cacheDir, known))) {
    options.onFile?.(0);
    return { hash: known, size: st.size, exec };
  }
  const startedAt = Date.now();
  let fd: number;
  try {
    fd = openSync(abs, 'r');
  } catch (err) {
    explainFsError(err, rel);
  }
  let hashed;
  try {
    hashed = hashFd(fd, fstatSync(fd).size, { reuseBuffer: true });
  } catch (err) {
    explainFsError(err, rel);
  } finally {
    closeSync(fd);
  }
  if (options.store) {
    try {
      const stored = hashed.bytes
        ? storeSmallFile(ctx.repo.cacheDir, hashed.hash, abs, hashed.bytes, () => assertUnchanged(rel, abs, st))
        : copyFileToObject(ctx.repo.cacheDir, hashed.hash, abs, () => assertUnchanged(rel, abs, st));
      if (stored) markVerified(ctx.repo.cacheDir, ctx.state, hashed.hash);
    } catch (err) {
      if (err instanceof MloError) throw err;
      explainFsError(err, rel);
    }
  }
  ctx.state.record(rel, key, hashed.hash, startedAt);
  options.onFile?.(hashed.size);
  return { hash: hashed.hash, size: hashed.size, exec };
}

/** A large file is hashed, then copied: if it changed in between, the copy may not match the hash. */
function assertUnchanged(rel: string, abs: string, before: FileStat): void {
  if (!sameStat(lstatSync(abs), before)) {
    throw new MloError('MLO_CHANGED_WHILE_READING', `${rel} changed while mlo was reading it`, {
      hint: 'wait until the program writing it has finished, then run the command again',
    });
  }
}
