/**
 * `mlo add` and `mlo commit`: hash paths, store their content in the cache, and write pointer files.
 */
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { clearCacheTmp, copyFileToObjectWhileHashing, hasObject, objectPath } from './cache/objects.js';
import { stateKeyOfObject } from './cache/verify.js';
import { POOL_MIN_FILES, hashInPool } from './hash/pool.js';
import { storeManifest } from './cache/manifest.js';
import { MloError, explainFsError, usageError } from './errors.js';
import { gitTopLevel, gitTrackedAmong } from './git.js';
import { HASH_ALGO, SMALL_FILE, hashLargeFile } from './hash/blake3.js';
import { withRepoLock } from './lock.js';
import { readPointer, writePointer } from './pointer/pointer.js';
import { POINTER_SUFFIX, type Pointer } from './pointer/schema.js';
import type { Repo } from './repo.js';
import { WRITTEN_BY_MLO, rowMatches, statKey, type StateRow } from './state.js';
import { allTracked, isDirectory, repoRelative, resolveTargets, type Tracked } from './tracked.js';
import { ignoreInGit } from './workspace/gitignore.js';
import { createLinker } from './workspace/link.js';
import { openScan, scanPath, type ScanContext, type Scanned } from './workspace/scan.js';
import { walkDir, type WalkResult } from './workspace/walk.js';
import { cacheLinkHash } from './workspace/cachelink.js';

export interface AddOptions {
  cwd: string;
  targets: string[];
  /** Called after each file with the bytes read (0 for files known unchanged). */
  onFile?: (bytes: number) => void;
  /** Called with the number and size of the files that need hashing, once known. */
  onTotals?: (totals: { files: number; bytes: number }) => void;
}

export interface AddedPath {
  path: string;
  pointerFile: string;
  hash: string;
  size: number;
  files?: number;
  kind: 'file' | 'dir';
  /** Symlinks inside an added directory, which are not tracked. */
  skippedSymlinks: string[];
  changed: boolean;
}

const GLOB_CHARS = /[*?[\]{}]/;

export async function addTargets(repo: Repo, options: AddOptions): Promise<AddedPath[]> {
  const rels = await expandTargets(repo, options.cwd, options.targets);
  checkAddable(repo, rels);
  return withRepoLock(repo, { command: 'add' }, async () => {
    clearCacheTmp(repo.cacheDir);
    const ctx = openScan(repo);
    try {
      const added: AddedPath[] = [];
      for (const rel of rels) {
        const pointerFile = rel + POINTER_SUFFIX;
        const previous = existsSync(join(repo.root, pointerFile)) ? readPointer(join(repo.root, pointerFile), pointerFile) : undefined;
        const pre = await prehashDir(ctx, rel, options);
        added.push(trackPath(ctx, rel, previous, pre));
        ignoreInGit(repo.root, rel);
      }
      return added;
    } finally {
      ctx.state.close();
    }
  });
}

export interface CommitOptions {
  cwd: string;
  targets?: string[];
  onFile?: (bytes: number) => void;
  onTotals?: (totals: { files: number; bytes: number }) => void;
}

/** Records the current content of already-tracked paths (after they were edited). */
export async function commitTargets(repo: Repo, options: CommitOptions): Promise<AddedPath[]> {
  const items = resolveTargets(repo, options.cwd, options.targets).filter((t) => t.pointerFile);
  return withRepoLock(repo, { command: 'commit' }, async () => {
    clearCacheTmp(repo.cacheDir);
    const ctx = openScan(repo);
    try {
      const committed: AddedPath[] = [];
      for (const t of items) {
        const previous = readPointer(join(repo.root, t.pointerFile!), t.pointerFile!);
        const pre = await prehashDir(ctx, t.path, options);
        committed.push(trackPath(ctx, t.path, previous, pre));
      }
      return committed;
    } finally {
      ctx.state.close();
    }
  });
}

/**
 * For a directory with many changed files, hashes and stores them on all cores first (filling the
 * state database), so the synchronous scan that follows finds them all known. Returns the progress
 * callback the scan should use (files already reported here are not counted twice).
 */
export async function prehashDir(
  ctx: ScanContext,
  rel: string,
  { onFile, onTotals }: Pick<AddOptions, 'onFile' | 'onTotals'>,
): Promise<Prehashed> {
  const abs = join(ctx.repo.root, rel);
  if (!isDirectory(abs)) {
    await prehashLargeFile(ctx, rel, abs);
    return { onFile };
  }
  const walked = walkDir(abs, rel, ctx.ignore);
  const known = ctx.state.lookupPrefix(`${rel}/`);
  const misses = walked.files.filter((f) => {
    const row = known.get(`${rel}/${f.rel}`);
    return !(row && rowMatches(row, statKey(f.stat)) && hasObject(ctx.repo.cacheDir, row.hash));
  });
  if (misses.length < POOL_MIN_FILES) return { onFile, walked, known };
  onTotals?.({ files: misses.length, bytes: misses.reduce((n, f) => n + f.stat.size, 0) });
  const startedAt = Date.now();
  const results = await hashInPool(misses.map((f) => ({ abs: f.abs, size: f.stat.size })), {
    cacheDir: ctx.repo.cacheDir,
    store: true,
    jobs: ctx.repo.config.core.jobs,
    onResult: (file, r) => onFile?.(r[0] === null ? 0 : file.size),
  });
  const stored = new Set<string>();
  results.forEach((r, i) => {
    const fileRel = `${rel}/${misses[i].rel}`;
    if (r[0] === null) {
      if (r[1] === 'MLO_CHANGED_WHILE_READING') {
        throw new MloError('MLO_CHANGED_WHILE_READING', `${fileRel} changed while mlo was reading it`, { hint: 'wait until the program writing it has finished, then run the command again' });
      }
      explainFsError(Object.assign(new Error(r[2]), { code: r[1] }), fileRel);
    }
    const [hash, size, ino, mtimeMs, written] = r;
    ctx.state.record(fileRel, { ino, mtimeMs, size }, hash, startedAt);
    known.set(fileRel, { path: fileRel, ino, mtime: mtimeMs, size, hash });
    if (written) ctx.state.record(stateKeyOfObject(hash), written, hash, WRITTEN_BY_MLO);
    stored.add(hash);
  });
  // The scan finds the pool's results in `known` (not by reading back 50,000 rows it just queued for
  // the state database); count only what the scan must still read.
  return { onFile: onFile && ((bytes: number) => (bytes > 0 ? onFile(bytes) : undefined)), walked, stored, known };
}

/**
 * A single large file is hashed with reads overlapping the hashing, then stored; the scan that follows
 * finds it in the state database. Small or unchanged files are left to the scan.
 */
async function prehashLargeFile(ctx: ScanContext, rel: string, abs: string): Promise<void> {
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    return; // The scan reports a missing path.
  }
  if (!st.isFile() || st.size <= SMALL_FILE || ctx.state.lookup(rel, statKey(st)) !== undefined) return;
  const startedAt = Date.now();
  const changed = () =>
    new MloError('MLO_CHANGED_WHILE_READING', `${rel} changed while mlo was reading it`, {
      hint: 'wait until the program writing it has finished, then run the command again',
    });
  let hashed;
  try {
    // Copied into the cache while it is hashed (see copyFileToObjectWhileHashing).
    ({ hashed } = await copyFileToObjectWhileHashing(ctx.repo.cacheDir, abs, hashLargeFile(abs), (h) => {
      const after = lstatSync(abs);
      const same = (s: { ino: number; size: number; mtimeMs: number }) => s.ino === st.ino && s.size === st.size && s.mtimeMs === st.mtimeMs;
      if (!same(h) || !same(after)) throw changed();
    }));
  } catch (err) {
    if (err instanceof MloError) throw err;
    explainFsError(err, rel);
  }
  ctx.state.record(rel, statKey(st), hashed.hash, startedAt);
  ctx.state.record(stateKeyOfObject(hashed.hash), statKey(lstatSync(objectPath(ctx.repo.cacheDir, hashed.hash))), hashed.hash, WRITTEN_BY_MLO);
  ctx.state.flush();
}

/** What prehashDir leaves for the scan: its progress callback, and the walk (so it is not done twice). */
interface Prehashed {
  onFile?: (bytes: number) => void;
  walked?: WalkResult;
  stored?: Set<string>;
  known?: Map<string, StateRow>;
}


function trackPath(ctx: ScanContext, rel: string, previous: Pointer | undefined, pre: Prehashed): AddedPath {
  const scanned = scanPath(ctx, rel, { store: true, onFile: pre.onFile, walked: pre.walked, stored: pre.stored, known: pre.known });
  if (!scanned) throw new MloError('MLO_NOT_FOUND', `${rel}: no such file or directory`, { hint: 'check the path; `mlo checkout` restores tracked data' });
  const { repo } = ctx;
  const pointer = pointerOf(rel, scanned, previous);
  if (scanned.kind === 'dir') storeManifest(repo.cacheDir, scanned.manifest);
  const pointerFile = rel + POINTER_SUFFIX;
  const changed = !previous || previous.hash !== pointer.hash;
  if (changed || previous?.size !== pointer.size) writePointer(join(repo.root, pointerFile), pointer);
  relinkShared(ctx, rel, scanned);
  return {
    path: rel,
    pointerFile,
    hash: pointer.hash,
    size: pointer.size,
    files: pointer.files,
    kind: scanned.kind,
    skippedSymlinks: scanned.kind === 'dir' ? scanned.symlinks : [],
    changed,
  };
}

function pointerOf(rel: string, scanned: Scanned, previous: Pointer | undefined): Pointer {
  const name = rel.split('/').pop()!;
  const base = scanned.kind === 'file'
    ? { path: name, hash: scanned.hash, algo: HASH_ALGO, size: scanned.size } as Pointer
    : { path: name, hash: scanned.manifest.hash, algo: HASH_ALGO, size: scanned.manifest.size, files: scanned.manifest.files } as Pointer;
  if (previous?.desc !== undefined) base.desc = previous.desc;
  return base;
}

/**
 * With hardlink or symlink chosen, the workspace copy is replaced by a link to the (read-only) object;
 * with reflink or copy the workspace file is already an independent copy and is left alone. Shared
 * with `mlo run`, whose cached stage outs are linked exactly as added paths are.
 */
export function relinkShared(ctx: ScanContext, rel: string, scanned: Scanned): void {
  const type = ctx.repo.config.cache.type[0];
  if (type !== 'hardlink' && type !== 'symlink') return;
  const linker = createLinker(ctx.repo);
  const files = scanned.kind === 'file'
    ? [{ rel, hash: scanned.hash, exec: scanned.exec }]
    : scanned.entries.map((e) => ({ rel: `${rel}/${e.path}`, hash: e.hash, exec: Boolean(e.exec) }));
  for (const f of files) {
    const abs = join(ctx.repo.root, f.rel);
    linker.link(f.hash, abs, f.exec);
    ctx.state.record(f.rel, statKey(lstatSync(abs)), f.hash, WRITTEN_BY_MLO);
  }
}

async function expandTargets(repo: Repo, cwd: string, targets: string[]): Promise<string[]> {
  if (targets.length === 0) throw usageError('mlo add needs at least one path', 'example: mlo add data/raw model.onnx');
  const rels: string[] = [];
  for (const target of targets) {
    if (existsSync(join(cwd, target)) || !GLOB_CHARS.test(target)) {
      rels.push(repoRelative(repo, cwd, target));
      continue;
    }
    const { glob } = await import('tinyglobby');
    const matches = await glob(target, { cwd, onlyFiles: false, dot: false, absolute: false });
    const useful = matches.map((m) => m.replace(/\/$/, '')).filter((m) => !m.endsWith(POINTER_SUFFIX));
    if (useful.length === 0) throw new MloError('MLO_NOT_FOUND', `${target}: no files match this pattern`, { hint: 'check the pattern; quote it so the shell does not expand it' });
    rels.push(...useful.map((m) => repoRelative(repo, cwd, m)));
  }
  return [...new Set(rels)].sort();
}

function checkAddable(repo: Repo, rels: string[]): void {
  const tracked = allTracked(repo);
  for (const rel of rels) {
    if (rel === '') throw usageError('cannot add the repository root itself', 'add the data folders inside it');
    if (rel.endsWith(POINTER_SUFFIX)) throw usageError(`${rel} is a pointer file`, `add the data it points to: mlo add ${rel.slice(0, -POINTER_SUFFIX.length)}`);
    let st;
    try {
      st = lstatSync(join(repo.root, rel));
    } catch (err) {
      explainFsError(err, rel);
    }
    // A link into the cache is what cache.type symlink left from an earlier add: adding it again is fine.
    if (st.isSymbolicLink() && !cacheLinkHash(repo.cacheDir, join(repo.root, rel))) throw new MloError('MLO_UNSUPPORTED_FILE', `${rel} is a symlink`, { hint: 'add the file or folder it points to instead' });
    const container = tracked.find((t) => rel.startsWith(`${t.path}/`));
    if (container) {
      throw new MloError('MLO_INSIDE_TRACKED', `${rel} is inside ${container.path}, which mlo already tracks`, {
        hint: `run \`mlo commit ${container.path}\` to record changes inside it`,
      });
    }
    const stageOut = tracked.find((t) => t.path === rel && t.stage);
    if (stageOut) throw new MloError('MLO_STAGE_OUTPUT', `${rel} is an output of stage '${stageOut.stage}'`, { hint: 'mlo run records it; it cannot also be added' });
    const inner = tracked.find((t) => t.path.startsWith(`${rel}/`));
    if (inner) throw new MloError('MLO_CONTAINS_TRACKED', `${rel} contains ${inner.path}, which mlo already tracks`, { hint: `remove ${inner.pointerFile ?? inner.path} first, or add a different folder` });
  }
  if (gitTopLevel(repo.root)) {
    const inGit = gitTrackedAmong(repo.root, rels);
    if (inGit.length) {
      const first = inGit[0];
      throw new MloError('MLO_TRACKED_BY_GIT', `${first} is already tracked by git`, {
        hint: `stop tracking it in git first: git rm -r --cached ${first} (the file stays on disk), then mlo add it`,
      });
    }
  }
}

export type { Tracked };
