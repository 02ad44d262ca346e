/**
 * `mlo checkout`: makes the workspace match the pointers (after `git checkout` or `git pull`). Files
 * a directory's manifest no longer lists are removed. Content that exists only in the workspace (not
 * in the cache) is never overwritten or deleted without `force`, ignored files included; a corrupt
 * object is never linked. Nothing is written, created or deleted through a symlink: a symlink where a
 * folder (or a file) is needed is the user's, and only `force` replaces it, the link itself.
 */
import { lstatSync, readdirSync, rmSync, rmdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { clearCacheTmp, hasObject } from './cache/objects.js';
import { readManifest } from './cache/manifest.js';
import { measure, sizeMismatch, sizeMismatchError } from './sizes.js';
import { checkObject, corruptObjectError } from './cache/verify.js';
import { MloError, errnoCode } from '../../base/errors.js';
import { isDirHash } from './hash/blake3.js';
import { withRepoLock } from '../repo/lock.js';
import type { Repo } from '../repo/repo.js';
import { WRITTEN_BY_MLO, statKey } from './state.js';
import { ownerOf, resolveTargets, type Tracked } from './tracked.js';
import { openScan } from './workspace/scan.js';
import { compareItem, type Comparison, type FileChange } from './workspace/compare.js';
import { cacheLinkHash } from './workspace/cachelink.js';
import { createFolderProbe, symlinkInPathError, type FolderState } from './workspace/folders.js';
import { heldAt, uncachedUnder } from './workspace/held.js';
import { createLinker } from './workspace/link.js';
import type { ScanContext } from './workspace/scan.js';

export interface CheckoutOptions {
  cwd: string;
  targets?: string[];
  /** Overwrite or delete workspace content even when the cache has no copy of it. */
  force?: boolean;
  /** Only report what would change. */
  dry?: boolean;
  onFile?: (bytes: number) => void;
}

export interface CheckoutResult {
  added: string[];
  modified: string[];
  deleted: string[];
  unchanged: number;
  /** Tracked paths whose content is not in the cache (fetch them with mlo pull). */
  missing: { path: string; hash: string }[];
}

interface Write {
  path: string;
  hash: string;
  size: number;
  exec: boolean;
  kind: 'added' | 'modified';
}
interface Plan {
  writes: Write[];
  deletes: Set<string>;
  unsafe: string[];
  replaceWholePath: string[];
  /** Symlinks where a real folder or file is needed: refused, or (force) removed before writing. */
  symlinks: Set<string>;
  /** Looks at folders without following symlinks, each once per checkout. */
  probe: (rel: string) => FolderState;
}

export async function checkoutTargets(repo: Repo, options: CheckoutOptions): Promise<CheckoutResult> {
  const items = resolveTargets(repo, options.cwd, options.targets);
  return withRepoLock(repo, { command: 'checkout' }, () => {
    clearCacheTmp(repo.cacheDir);
    const ctx = openScan(repo);
    try {
      return runCheckout(ctx, items, options);
    } finally {
      ctx.state.close();
    }
  });
}

/**
 * Puts `items` back as plain copies whatever `cache.type` says: outs kept in git (`cache: false`) are
 * files the user edits and commits, never links into the read-only cache.
 */
export async function checkoutCopies(repo: Repo, items: Tracked[], options: Pick<CheckoutOptions, 'force'>): Promise<CheckoutResult> {
  const copying: Repo = { ...repo, config: { ...repo.config, cache: { ...repo.config.cache, type: ['reflink', 'copy'] } } };
  return withRepoLock(repo, { command: 'checkout' }, () => {
    const ctx = openScan(copying);
    try {
      return runCheckout(ctx, items, options);
    } finally {
      ctx.state.close();
    }
  });
}

export function runCheckout(ctx: ScanContext, items: Tracked[], options: Pick<CheckoutOptions, 'force' | 'dry' | 'onFile'>): CheckoutResult {
  const { repo } = ctx;
  const result: CheckoutResult = { added: [], modified: [], deleted: [], unchanged: 0, missing: [] };
  const plan: Plan = { writes: [], deletes: new Set(), unsafe: [], replaceWholePath: [], symlinks: new Set(), probe: createFolderProbe(repo.root) };
  for (const item of items) {
    if (!hasObject(repo.cacheDir, item.hash)) {
      result.missing.push({ path: item.path, hash: item.hash });
      continue;
    }
    // A file's recorded size is checked against its object: a stranger's pointer must not make mlo
    // report or sum a size nobody measured. (A directory's files carry their sizes in the manifest.)
    if (!isDirHash(item.hash)) {
      const mismatch = sizeMismatch(item, measure(repo, item));
      if (mismatch) throw sizeMismatchError(mismatch);
    }
    // The tracked path and its folders, looked at before compareItem, whose scan would follow a link.
    const at = plan.probe(item.path);
    if (at.kind === 'other' && at.at !== item.path) {
      throw new MloError('MLO_NOT_A_FOLDER', `${at.at} is not a folder, and ${item.path} needs one there`, {
        hint: `move ${at.at} away, then run the command again`,
      });
    }
    // A link into the cache (cache.type symlink) is a file whose content the cache holds.
    const cacheLink = at.at === item.path && cacheLinkHash(repo.cacheDir, join(repo.root, item.path)) !== undefined;
    if (at.kind === 'symlink' && !cacheLink) {
      plan.symlinks.add(at.at!);
      planAbsent(ctx, item, plan, result);
      continue;
    }
    planItem(ctx, compareItem(ctx, item), plan, result);
  }
  if (plan.symlinks.size && !options.force) {
    throw symlinkInPathError([...plan.symlinks], 'move the link away, or run `mlo checkout --force` to replace the link itself (what it points to is kept)');
  }
  if (plan.unsafe.length && !options.force) {
    const list = plan.unsafe.slice(0, 3).join(', ') + (plan.unsafe.length > 3 ? ` and ${plan.unsafe.length - 3} more` : '');
    throw new MloError('MLO_WOULD_LOSE_DATA', `checkout would overwrite or delete ${list}, whose content is not in the cache`, {
      hint: 'keep the changes with `mlo commit` (or `mlo add`; move ignored files away), or discard them with `mlo checkout --force`',
      meta: { paths: plan.unsafe },
    });
  }
  // Verify every object first, so a corrupt one stops the checkout before the workspace changes.
  const checked = new Set<string>();
  for (const w of plan.writes) {
    if (checked.has(w.hash)) continue;
    const health = repo.config.cache.verify ? checkObject(repo.cacheDir, ctx.state, w.hash) : hasObject(repo.cacheDir, w.hash) ? 'ok' : 'missing';
    if (health === 'corrupt') throw corruptObjectError(w.hash, w.path);
    if (health === 'missing') result.missing.push({ path: w.path, hash: w.hash });
    checked.add(w.hash);
  }
  const missingHashes = new Set(result.missing.map((m) => m.hash));
  result.deleted = [...plan.deletes];
  if (options.dry) {
    for (const w of plan.writes) if (!missingHashes.has(w.hash)) result[w.kind].push(w.path);
    return result;
  }
  // Only the links themselves go (force): what they point to is never touched.
  for (const p of plan.symlinks) removeLink(repo.root, p);
  for (const p of plan.replaceWholePath) rmSync(join(repo.root, p), { recursive: true, force: true });
  for (const p of plan.deletes) {
    rmSync(join(repo.root, p), { force: true });
    ctx.state.forget(p);
    pruneEmptyDirs(repo.root, dirname(p), items);
  }
  const linker = createLinker(repo);
  for (const w of plan.writes) {
    if (missingHashes.has(w.hash)) continue;
    const abs = join(repo.root, w.path);
    linker.link(w.hash, abs, w.exec);
    ctx.state.record(w.path, statKey(lstatSync(abs)), w.hash, WRITTEN_BY_MLO);
    result[w.kind].push(w.path);
    options.onFile?.(w.size);
  }
  return result;
}

function planItem(ctx: ScanContext, c: Comparison, plan: Plan, result: CheckoutResult): void {
  const { repo } = ctx;
  const item = c.item;
  const cached = (hash: string | undefined) => hash !== undefined && hasObject(repo.cacheDir, hash);
  if (c.manifestMissing) {
    result.missing.push({ path: item.path, hash: item.hash });
    return;
  }
  result.unchanged += c.unchanged;
  // A directory where a file is wanted, or the reverse: the whole path is replaced.
  if (c.current && c.current.kind !== c.kind) {
    if (c.current.kind === 'file') {
      if (!cached(c.current.hash)) plan.unsafe.push(item.path);
    } else {
      // The whole folder goes, ignored files and symlinks included: the walk's entries are not all it holds.
      const known = new Map(c.current.entries.map((e) => [`${item.path}/${e.path}`, e.hash]));
      plan.unsafe.push(...uncachedUnder(ctx, item.path, known));
    }
    plan.replaceWholePath.push(item.path);
    if (c.kind === 'file') plan.writes.push({ path: item.path, hash: item.hash, size: item.size, exec: false, kind: 'modified' });
    else for (const e of c.wanted()) plan.writes.push({ path: `${item.path}/${e.path}`, hash: e.hash, size: e.size, exec: Boolean(e.exec), kind: 'added' });
    return;
  }
  if (c.kind === 'file') {
    if (c.deleted) plan.writes.push({ path: item.path, hash: item.hash, size: item.size, exec: false, kind: 'added' });
    for (const m of c.modified) {
      if (!cached(m.have?.hash)) plan.unsafe.push(m.path);
      plan.writes.push({ path: item.path, hash: item.hash, size: item.size, exec: m.want?.exec ?? false, kind: 'modified' });
    }
    return;
  }
  // Deletions first: planRemoved must know which files in folder positions already go.
  for (const a of c.added) {
    if (!cached(a.have?.hash)) plan.unsafe.push(a.path);
    plan.deletes.add(a.path);
  }
  for (const r of c.removed) planRemoved(ctx, r, plan, result);
  for (const m of c.modified) {
    if (!cached(m.have?.hash)) plan.unsafe.push(m.path);
    plan.writes.push({ path: m.path, hash: m.want!.hash, size: m.want!.size, exec: m.want!.exec, kind: 'modified' });
  }
}

/**
 * A file the walk did not see. It may still be there: ignored by `.mloignore`, a symlink, or behind
 * one. What is there is judged like a modified file before it is replaced.
 */
function planRemoved(ctx: ScanContext, r: FileChange, plan: Plan, result: CheckoutResult): void {
  const want = r.want!;
  let kind: Write['kind'] = 'added';
  const folder = plan.probe(r.path.slice(0, r.path.lastIndexOf('/')));
  if (folder.kind === 'symlink') {
    plan.symlinks.add(folder.at!);
  } else if (folder.kind === 'other') {
    // An ignored file where a folder is needed (a walked one is already an `added` entry).
    if (!plan.deletes.has(folder.at!)) {
      plan.unsafe.push(...uncachedUnder(ctx, folder.at!));
      plan.deletes.add(folder.at!);
    }
  } else if (folder.kind === 'dir') {
    const held = heldAt(ctx, r.path);
    if (held.kind === 'file' && held.hash === want.hash) {
      result.unchanged++;
      return;
    }
    if (held.kind !== 'absent') kind = 'modified';
    if (held.kind === 'file' && !hasObject(ctx.repo.cacheDir, held.hash)) plan.unsafe.push(r.path);
    if (held.kind === 'other') plan.unsafe.push(r.path);
    if (held.kind === 'symlink') plan.symlinks.add(r.path);
    if (held.kind === 'dir') {
      plan.unsafe.push(...uncachedUnder(ctx, r.path));
      plan.replaceWholePath.push(r.path);
    }
  }
  plan.writes.push({ path: r.path, hash: want.hash, size: want.size, exec: want.exec, kind });
}

/** Every wanted file of an item whose path is (or lies behind) a symlink: after --force, nothing is there. */
function planAbsent(ctx: ScanContext, item: Tracked, plan: Plan, result: CheckoutResult): void {
  if (!isDirHash(item.hash)) {
    plan.writes.push({ path: item.path, hash: item.hash, size: item.size, exec: false, kind: 'added' });
    return;
  }
  const wanted = readManifest(ctx.repo.cacheDir, item.hash, ownerOf(item));
  if (!wanted) {
    result.missing.push({ path: item.path, hash: item.hash });
    return;
  }
  const inScope = (p: string) => !item.subpath || p === item.subpath || p.startsWith(`${item.subpath}/`);
  for (const e of wanted) {
    if (inScope(e.path)) plan.writes.push({ path: `${item.path}/${e.path}`, hash: e.hash, size: e.size, exec: Boolean(e.exec), kind: 'added' });
  }
}

function removeLink(root: string, rel: string): void {
  const abs = join(root, rel);
  // Checked again now: unlink on a real folder fails anyway, but a file here would be lost.
  if (!lstatSync(abs, { throwIfNoEntry: false })?.isSymbolicLink()) return;
  try {
    unlinkSync(abs);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

/** Removes folders emptied by deletions, up to (not including) the tracked directory itself. */
function pruneEmptyDirs(root: string, dirRel: string, items: Tracked[]): void {
  let dir = dirRel;
  while (dir && dir !== '.' && !items.some((t) => t.path === dir)) {
    const abs = join(root, dir);
    try {
      if (readdirSync(abs).length > 0) return;
      rmdirSync(abs);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}
