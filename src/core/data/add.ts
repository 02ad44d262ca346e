/**
 * `mlo add` and `mlo commit`: hash paths, store their content in the cache, and write pointer files.
 */
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { clearCacheTmp, copyFileToObjectWhileHashing, hasObject, objectPath } from './cache/objects.js';
import { objectStatKey, stateKeyOfObject } from './cache/verify.js';
import { POOL_MIN_FILES, hashInPool } from './hash/pool.js';
import { storeManifest } from './cache/manifest.js';
import { MloError, errnoCode, explainFsError, usageError } from '../../base/errors.js';
import { gitIgnoreRules, gitTopLevel, gitTrackedAmong, type IgnoreRule } from '../../base/git.js';
import { HASH_ALGO, SMALL_FILE, hashLargeFile } from './hash/blake3.js';
import { withRepoLock } from '../repo/lock.js';
import { readPointer, writePointer } from './pointer/pointer.js';
import { POINTER_SUFFIX, type Pointer } from './pointer/schema.js';
import type { Repo } from '../repo/repo.js';
import { WRITTEN_BY_MLO, rowMatches, sameStat, statKey, type StateRow } from './state.js';
import { allTracked, isDirectory, repoRelative, resolveTargets, type Tracked } from './tracked.js';
import { shellPath } from '../../base/shell.js';
import { checkIgnorableName, ignoreInGit } from './workspace/gitignore.js';
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
  /** Called as a large file is read, with the bytes read since the last call (before its onFile). */
  onBytes?: (bytes: number) => void;
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
  /**
   * Set by add when git ignores the pointer file (git add would refuse it): the rule responsible.
   * The pointer must be committed for anyone else to get the data.
   */
  ignoredBy?: IgnoreRule;
}

const GLOB_CHARS = /[*?[\]{}]/;

export async function addTargets(repo: Repo, options: AddOptions): Promise<AddedPath[]> {
  const rels = await expandTargets(repo, options.cwd, options.targets);
  const top = gitTopLevel(repo.root);
  checkAddable(repo, options.cwd, rels, top);
  return withRepoLock(repo, { command: 'add' }, async () => {
    clearCacheTmp(repo.cacheDir);
    const ctx = openScan(repo);
    try {
      const previous = rels.map((rel) => {
        const pointerFile = rel + POINTER_SUFFIX;
        return existsSync(join(repo.root, pointerFile)) ? readPointer(join(repo.root, pointerFile), pointerFile) : undefined;
      });
      const scanned = await scanTargets(ctx, rels, options);
      const added = rels.map((rel, i) => {
        const a = recordTracked(ctx, rel, previous[i], scanned[i]);
        ignoreInGit(repo.root, rel);
        return a;
      });
      if (top) {
        const rules = gitIgnoreRules(
          repo.root,
          top,
          added.map((a) => a.pointerFile),
        );
        for (const a of added) {
          const rule = rules.get(a.pointerFile);
          if (rule) a.ignoredBy = rule;
        }
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
  onBytes?: (bytes: number) => void;
}

/** Records the current content of already-tracked paths (after they were edited). */
export async function commitTargets(repo: Repo, options: CommitOptions): Promise<AddedPath[]> {
  const chosen = resolveTargets(repo, options.cwd, options.targets).filter((t) => t.pointerFile);
  // `mlo commit d/x d/y` names the tracked directory d twice: it is recorded once.
  const items = chosen.filter((t, i) => chosen.findIndex((u) => u.path === t.path) === i);
  return withRepoLock(repo, { command: 'commit' }, async () => {
    // Every target is checked, then hashed, before any pointer is written: a failure leaves all as they were.
    for (const t of items) checkCommittable(repo, options.cwd, t);
    clearCacheTmp(repo.cacheDir);
    const ctx = openScan(repo);
    try {
      const previous = items.map((t) => readPointer(join(repo.root, t.pointerFile!), t.pointerFile!));
      const scanned = await scanTargets(
        ctx,
        items.map((t) => t.path),
        options,
      );
      return items.map((t, i) => recordTracked(ctx, t.path, previous[i], scanned[i]));
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
  { onFile, onTotals, onBytes }: Pick<AddOptions, 'onFile' | 'onTotals' | 'onBytes'>,
): Promise<Prehashed> {
  const abs = join(ctx.repo.root, rel);
  if (!isDirectory(abs)) {
    await prehashLargeFile(ctx, rel, abs, { onTotals, onBytes });
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
  const results = await hashInPool(
    misses.map((f) => ({ abs: f.abs, size: f.stat.size })),
    {
      cacheDir: ctx.repo.cacheDir,
      store: true,
      jobs: ctx.repo.config.core.jobs,
      onResult: (file, r) => onFile?.(r[0] === null ? 0 : file.size),
    },
  );
  const stored = new Set<string>();
  results.forEach((r, i) => {
    const fileRel = `${rel}/${misses[i].rel}`;
    if (r[0] === null) {
      if (r[1] === 'MLO_CHANGED_WHILE_READING') {
        throw new MloError('MLO_CHANGED_WHILE_READING', `${fileRel} changed while mlo was reading it`, {
          hint: 'wait until the program writing it has finished, then run the command again',
        });
      }
      explainFsError(Object.assign(new Error(r[2]), { code: r[1] }), fileRel);
    }
    const [hash, size, st, written] = r;
    ctx.state.record(fileRel, st, hash, startedAt);
    known.set(fileRel, { path: fileRel, ino: st.ino, mtime: st.mtimeMs, ctime: st.ctimeMs, size, hash });
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
async function prehashLargeFile(ctx: ScanContext, rel: string, abs: string, progress: Pick<AddOptions, 'onTotals' | 'onBytes'>): Promise<void> {
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    return; // The scan reports a missing path.
  }
  if (!st.isFile() || st.size <= SMALL_FILE || ctx.state.lookup(rel, statKey(st)) !== undefined) return;
  // The total first, then the bytes as they are read: a 10 GB file shows its size and an ETA from the
  // start, not 0 B until it is done (the scan that follows counts the file, reading nothing again).
  progress.onTotals?.({ files: 1, bytes: st.size });
  const startedAt = Date.now();
  const changed = () =>
    new MloError('MLO_CHANGED_WHILE_READING', `${rel} changed while mlo was reading it`, {
      hint: 'wait until the program writing it has finished, then run the command again',
    });
  let hashed;
  try {
    // Copied into the cache while it is hashed (see copyFileToObjectWhileHashing).
    ({ hashed } = await copyFileToObjectWhileHashing(ctx.repo.cacheDir, abs, hashLargeFile(abs, progress.onBytes), (h) => {
      if (!sameStat(h, st) || !sameStat(lstatSync(abs), st)) throw changed();
    }));
  } catch (err) {
    if (err instanceof MloError) throw err;
    explainFsError(err, rel);
  }
  ctx.state.record(rel, statKey(st), hashed.hash, startedAt);
  ctx.state.record(stateKeyOfObject(hashed.hash), objectStatKey(lstatSync(objectPath(ctx.repo.cacheDir, hashed.hash))), hashed.hash, WRITTEN_BY_MLO);
  ctx.state.flush();
}

/** What prehashDir leaves for the scan: its progress callback, and the walk (so it is not done twice). */
interface Prehashed {
  onFile?: (bytes: number) => void;
  walked?: WalkResult;
  stored?: Set<string>;
  known?: Map<string, StateRow>;
}

function checkCommittable(repo: Repo, cwd: string, t: Tracked): void {
  try {
    lstatSync(join(repo.root, t.path));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') explainFsError(err, t.path);
    throw new MloError('MLO_NOT_FOUND', `${t.path}: no such file or directory`, {
      cause: err,
      hint: `restore it with \`mlo checkout ${shellPath(repo.root, cwd, t.path)}\`, or stop tracking it with \`git rm ${shellPath(repo.root, cwd, t.pointerFile!)}\``,
    });
  }
}

/**
 * Hashes and stores every target before the caller writes any pointer, so that a target that fails
 * (missing, unreadable, changed while read) leaves every pointer as it was.
 */
async function scanTargets(ctx: ScanContext, rels: string[], options: Pick<AddOptions, 'onFile' | 'onTotals' | 'onBytes'>): Promise<Scanned[]> {
  const scanned: Scanned[] = [];
  for (const rel of rels) {
    const pre = await prehashDir(ctx, rel, options);
    const s = scanPath(ctx, rel, { store: true, onFile: pre.onFile, walked: pre.walked, stored: pre.stored, known: pre.known });
    if (!s) throw new MloError('MLO_NOT_FOUND', `${rel}: no such file or directory`, { hint: 'check the path; `mlo checkout` restores tracked data' });
    scanned.push(s);
  }
  return scanned;
}

/** Writes the pointer (and manifest) of a scanned target and links it as cache.type says. */
function recordTracked(ctx: ScanContext, rel: string, previous: Pointer | undefined, scanned: Scanned): AddedPath {
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
  const base =
    scanned.kind === 'file'
      ? ({ path: name, hash: scanned.hash, algo: HASH_ALGO, size: scanned.size } as Pointer)
      : ({ path: name, hash: scanned.manifest.hash, algo: HASH_ALGO, size: scanned.manifest.size, files: scanned.manifest.files } as Pointer);
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
  const files =
    scanned.kind === 'file'
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
    if (useful.length === 0)
      throw new MloError('MLO_NOT_FOUND', `${target}: no files match this pattern`, { hint: 'check the pattern; quote it so the shell does not expand it' });
    rels.push(...useful.map((m) => repoRelative(repo, cwd, m)));
  }
  return [...new Set(rels)].sort();
}

function checkAddable(repo: Repo, cwd: string, rels: string[], top: string | undefined): void {
  const tracked = allTracked(repo);
  const shell = (rel: string) => shellPath(repo.root, cwd, rel);
  for (const rel of rels) {
    if (rel === '') throw usageError('cannot add the repository root itself', 'add the data folders inside it');
    if (rel.endsWith(POINTER_SUFFIX))
      throw usageError(`${rel} is a pointer file`, `add the data it points to: mlo add ${shell(rel.slice(0, -POINTER_SUFFIX.length))}`);
    checkIgnorableName(rel);
    let st;
    try {
      st = lstatSync(join(repo.root, rel));
    } catch (err) {
      explainFsError(err, rel);
    }
    // A link into the cache is what cache.type symlink left from an earlier add: adding it again is fine.
    if (st.isSymbolicLink() && !cacheLinkHash(repo.cacheDir, join(repo.root, rel)))
      throw new MloError('MLO_UNSUPPORTED_FILE', `${rel} is a symlink`, { hint: 'add the file or folder it points to instead' });
    const container = tracked.find((t) => rel.startsWith(`${t.path}/`));
    if (container) {
      throw new MloError('MLO_INSIDE_TRACKED', `${rel} is inside ${container.path}, which mlo already tracks`, {
        hint: `run \`mlo commit ${shell(container.path)}\` to record changes inside it`,
      });
    }
    const stageOut = tracked.find((t) => t.path === rel && t.stage);
    if (stageOut)
      throw new MloError('MLO_STAGE_OUTPUT', `${rel} is an output of stage '${stageOut.stage}'`, { hint: 'mlo run records it; it cannot also be added' });
    const inner = tracked.find((t) => t.path.startsWith(`${rel}/`));
    if (inner)
      throw new MloError('MLO_CONTAINS_TRACKED', `${rel} contains ${inner.path}, which mlo already tracks`, {
        hint: `remove ${shell(inner.pointerFile ?? inner.path)} first, or add a different folder`,
      });
  }
  if (top) {
    // Literal pathspecs: `a[1].txt` must not match a1.txt. Git lists the files inside a tracked folder;
    // the hint names the path the user added, so one command fixes the whole folder.
    const inGit = gitTrackedAmong(
      repo.root,
      rels.map((rel) => `:(literal)${rel}`),
    );
    const given = new Set(rels);
    const found = new Set<string>();
    for (const f of inGit) {
      for (let p = f; p !== ''; p = p.slice(0, Math.max(0, p.lastIndexOf('/')))) if (given.has(p)) found.add(p);
    }
    const offending = rels.filter((rel) => found.has(rel));
    if (offending.length) {
      const first = offending[0];
      const more = offending.length > 1 ? ` (and ${offending.length - 1} more of the paths given)` : '';
      const them = offending.length > 1 ? 'them' : 'it';
      throw new MloError('MLO_TRACKED_BY_GIT', `${first} is already tracked by git${more}`, {
        hint: `stop tracking ${them} in git first: git rm -r --cached ${offending.map((rel) => shellPath(repo.root, cwd, rel)).join(' ')} (the files stay on disk), then mlo add ${them} and commit`,
      });
    }
  }
}

export type { Tracked };
