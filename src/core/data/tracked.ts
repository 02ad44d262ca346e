/**
 * What a repository tracks: every pointer file (`*.mlo`) in the workspace, and the cached outputs of
 * pipeline stages recorded in `mlo.lock`. Commands take targets (paths) and resolve them here, including
 * a path inside a tracked directory (`mlo pull data/images/cats` transfers only that part).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { readManifest } from './cache/manifest.js';
import { isMloError, MloError, usageError } from '../../base/errors.js';
import { toPosix } from '../../base/fs.js';
import { createFolderProbe } from './workspace/folders.js';
import { gitListFiles } from '../../base/git.js';
import { loadModule } from '../../base/lazy-module.js';
import type * as Lockfile from './lockfile.js';
import { readPointer } from './pointer/pointer.js';
import { ANY_HASH_RE, POINTER_SUFFIX, hasGitFolder, isMloDirPath, isSafeRelPath, type Pointer } from './pointer/paths.js';
import type { Repo } from '../repo/repo.js';
import { LOCK_FILE, MLO_DIR } from '../repo/names.js';
import { readCached } from '../repo/parsecache.js';

export interface Tracked {
  /** The tracked file or directory, relative to the repo root, forward slashes. */
  path: string;
  hash: string;
  size: number;
  files?: number;
  /** The pointer file (relative to the root) that records it, for `mlo add`-ed paths. */
  pointerFile?: string;
  /** The stage whose output it is, for pipeline outputs recorded in mlo.lock. */
  stage?: string;
  /** When a target named a path inside a tracked directory: that path, relative to the directory. */
  subpath?: string;
  /**
   * For the model of a registry version (`NAME@N`): its reference. Such an item has no workspace path
   * (its `path` only names it); it is transferred and kept, never checked out.
   */
  model?: string;
  /** The git revision it was read at (gc's and the transfers' scopes), for messages; unset in the workspace. */
  rev?: string;
}

export function fromPointer(pointerRel: string, pointer: Pointer): Tracked {
  const dir = dirname(pointerRel);
  const path = dir === '.' ? pointer.path : `${dir}/${pointer.path}`;
  // The schema refuses '..' and '.git'; this is the one folder that is only off-limits at the root.
  if (isMloDirPath(path)) {
    throw new MloError('MLO_UNSAFE_PATH', `${pointerRel}: path '${pointer.path}' points into .mlo/, which mlo manages itself`, {
      hint: `remove or fix ${pointerRel}`,
    });
  }
  return { path, hash: pointer.hash, size: pointer.size, files: pointer.files, pointerFile: pointerRel };
}

/** A tracked folder and where it is recorded, naming its manifest in errors: `data/images (data/images.mlo)`. */
export function ownerOf(t: Tracked): string {
  return `${t.path} (${sourceOf(t)})`;
}

/** Where a tracked item comes from, for messages: its pointer file or its mlo.lock entry (and revision). */
export function sourceOf(t: Tracked): string {
  const source = t.pointerFile ?? `${LOCK_FILE} (stage ${t.stage})`;
  return t.rev ? `${source} at ${/^[0-9a-f]{40}$/.test(t.rev) ? t.rev.slice(0, 10) : t.rev}` : source;
}

/**
 * Refuses two records of one path, or of a path inside another tracked path: they would fight over
 * the same files on every checkout (DVC refuses overlapping outputs the same way). `mlo add` never
 * writes such pointers; hand edits, merges and stage outs can.
 */
function assertNoOverlap(items: Tracked[]): void {
  const overlap = findOverlap(items);
  if (overlap) throw overlap.error;
}

/** The first record of a path tracked twice (or inside another tracked path), and the error naming both. */
function findOverlap(items: Tracked[]): { item: Tracked; error: MloError } | undefined {
  const sorted = [...items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1], sorted[i]];
    if (b.path === a.path || b.path.startsWith(`${a.path}/`)) {
      const error = new MloError(
        'MLO_OVERLAPPING_PATHS',
        `${b.path} is tracked by ${sourceOf(b)}${b.path === a.path ? ' and' : ' inside ' + a.path + ', tracked by'} ${sourceOf(a)}`,
        {
          hint: 'keep one of them: delete the other pointer file (git rm), or change the stage outs',
        },
      );
      return { item: b, error };
    }
  }
  return undefined;
}

/** Pointer files in the workspace, relative to the root. */
export function findPointerFiles(repo: Repo): string[] {
  const listed = gitListFiles(repo.root, `*${POINTER_SUFFIX}`);
  if (listed) {
    return listed.filter((f) => f.endsWith(POINTER_SUFFIX) && !f.startsWith('.mlo/') && existsSync(join(repo.root, f))).sort();
  }
  // Without git: walk the tree, skipping tracked directories (they hold data, not pointers).
  const found: string[] = [];
  const visit = (rel: string) => {
    for (const ent of readdirSync(join(repo.root, rel), { withFileTypes: true })) {
      const childRel = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.isDirectory()) {
        if (ent.name === '.git' || ent.name === MLO_DIR || ent.name === 'node_modules') continue;
        if (existsSync(join(repo.root, childRel + POINTER_SUFFIX))) continue;
        visit(childRel);
      } else if (ent.isFile() && ent.name.endsWith(POINTER_SUFFIX)) {
        found.push(childRel);
      }
    }
  };
  visit('');
  return found.sort();
}

/**
 * Cached stage outputs recorded in mlo.lock, read through its schema (lockfile.ts) as `mlo run` reads it.
 * An entry the schema sets aside tracks nothing (its stage runs again), except that an out path outside
 * the repository is refused outright, as it always was here: a checkout would write there.
 */
export function lockOutputs(repo: Repo): Tracked[] {
  const doc = readLockDoc(repo);
  if (!doc) return [];
  for (const reason of Object.values(doc.invalid ?? {})) {
    if (/: stages\.[^:]+\.outs\.\d+\.path: /.test(reason)) {
      throw new MloError('MLO_UNSAFE_PATH', reason, { hint: 'paths in mlo.lock must be relative and must not contain ..' });
    }
  }
  return outsFromLockDoc(doc);
}

const LOCK_HINT = 'restore it with `git checkout mlo.lock`, or delete it and run `mlo run`';

/** mlo.lock as its schema reads it, or undefined without one. */
function readLockDoc(repo: Repo): Lockfile.LockDoc | undefined {
  // Without a pipeline there is no mlo.lock; with one, the parse cache that `mlo run` keeps usually has
  // it. Either way data commands load its schema (zod, yaml) only when they must parse it.
  if (!existsSync(join(repo.root, LOCK_FILE))) return undefined;
  try {
    return readCached<Lockfile.LockDoc>(repo, LOCK_FILE) ?? loadModule<typeof Lockfile>(import.meta.url, './lockfile.js').readLock(repo);
  } catch (err) {
    if (!isMloError(err, 'MLO_BAD_YAML')) throw err;
    throw new MloError('MLO_BAD_LOCK', err.message, { hint: LOCK_HINT, cause: err });
  }
}

/**
 * The cached outs of an mlo.lock document (with `'uncached'`: the `cache: false` ones, which git keeps
 * and the cache holds too, for the run cache and `mlo exp apply`). Also reads the raw YAML of mlo.lock
 * at old revisions (revisions.ts), which stays lenient: history cannot be fixed, and gc must keep what
 * it names.
 */
export function outsFromLockDoc(doc: unknown, which: 'cached' | 'uncached' = 'cached'): Tracked[] {
  const stages = (doc as { stages?: Record<string, { outs?: unknown[] }> } | null)?.stages ?? {};
  const out: Tracked[] = [];
  for (const [stage, def] of Object.entries(stages)) {
    for (const o of def?.outs ?? []) {
      const e = o as { path?: unknown; hash?: unknown; size?: unknown; files?: unknown; cache?: unknown };
      if ((e.cache === false) !== (which === 'uncached') || typeof e.path !== 'string' || !(typeof e.hash === 'string' && ANY_HASH_RE.test(e.hash))) continue;
      if (!isSafeRelPath(e.path) || isMloDirPath(e.path)) {
        throw new MloError('MLO_UNSAFE_PATH', `${LOCK_FILE}: stage ${stage}: out path '${e.path}' leaves the repository`, {
          hint: 'paths in mlo.lock must be relative and must not contain ..',
        });
      }
      out.push({ path: e.path, hash: e.hash as string, size: Number(e.size ?? 0), files: typeof e.files === 'number' ? e.files : undefined, stage });
    }
  }
  return out;
}

export function allTracked(repo: Repo): Tracked[] {
  const items = findPointerFiles(repo).map((rel) => fromPointer(rel, readPointer(join(repo.root, rel), rel)));
  const all = [...items, ...lockOutputs(repo)];
  assertNoOverlap(all);
  return all;
}

/** A pointer file or mlo.lock (entry) that cannot be used, and why: the error it raises elsewhere. */
export interface BrokenRecord {
  file: string;
  code: string;
  message: string;
}

/**
 * What allTracked reads, for `mlo fsck`: where allTracked stops at the first unreadable pointer or lock,
 * this goes on and returns each as broken (so fsck can name them all and still check the rest), and the
 * lock entries its schema sets aside (their stage would quietly run again) count as broken too.
 */
export function scanTracked(repo: Repo): { items: Tracked[]; broken: BrokenRecord[] } {
  const items: Tracked[] = [];
  const broken: BrokenRecord[] = [];
  const attempt = (file: string, read: () => void) => {
    try {
      read();
    } catch (err) {
      if (!isMloError(err)) throw err;
      broken.push({ file, code: err.code, message: err.message });
    }
  };
  for (const rel of findPointerFiles(repo)) attempt(rel, () => items.push(fromPointer(rel, readPointer(join(repo.root, rel), rel))));
  attempt(LOCK_FILE, () => {
    const doc = readLockDoc(repo);
    if (!doc) return;
    for (const reason of Object.values(doc.invalid ?? {})) broken.push({ file: LOCK_FILE, code: 'MLO_BAD_LOCK', message: reason });
    items.push(...outsFromLockDoc(doc));
  });
  const overlap = findOverlap(items);
  if (overlap) broken.push({ file: overlap.item.pointerFile ?? LOCK_FILE, code: overlap.error.code, message: overlap.error.message });
  return { items, broken };
}

/** Resolves command-line targets (relative to `cwd`) to tracked items; no targets means everything. */
export function resolveTargets(repo: Repo, cwd: string, targets: string[] | undefined): Tracked[] {
  const all = allTracked(repo);
  if (!targets || targets.length === 0) return all;
  const chosen: Tracked[] = [];
  for (const target of targets) {
    const rel = repoRelative(repo, cwd, target);
    const plain = rel.endsWith(POINTER_SUFFIX) ? rel.slice(0, -POINTER_SUFFIX.length) : rel;
    const exact = all.filter((t) => t.path === plain);
    if (exact.length) {
      chosen.push(...exact);
      continue;
    }
    const container = all.find((t) => plain.startsWith(`${t.path}/`));
    if (container) {
      const subpath = plain.slice(container.path.length + 1);
      assertInManifest(repo, container, subpath, target);
      chosen.push({ ...container, subpath });
      continue;
    }
    const inside = all.filter((t) => plain === '' || t.path.startsWith(`${plain}/`));
    if (inside.length) {
      chosen.push(...inside);
      continue;
    }
    throw new MloError('MLO_NOT_TRACKED', `${target} is not tracked by mlo`, { hint: `track it with \`mlo add ${target}\`` });
  }
  return chosen;
}

/**
 * A target inside a tracked directory must name a file or folder its manifest lists, or the command
 * would quietly do nothing. Unknowable while the manifest is not in the cache (pull fetches it).
 */
function assertInManifest(repo: Repo, dir: Tracked, subpath: string, target: string): void {
  const entries = readManifest(repo.cacheDir, dir.hash, ownerOf(dir));
  if (!entries || entries.some((e) => e.path === subpath || e.path.startsWith(`${subpath}/`))) return;
  throw new MloError('MLO_NOT_TRACKED', `${target} is not in the tracked directory ${dir.path}`, {
    hint: `mlo list shows what is tracked; after adding files to ${dir.path}, run mlo commit ${dir.path}`,
  });
}

/**
 * A target's path relative to the repo root. Refuses paths outside the repository, inside .git/ or
 * .mlo/, and paths beyond a symbolic link (as git does): through a linked folder, mlo would read or
 * write outside the repository.
 */
export function repoRelative(repo: Repo, cwd: string, target: string): string {
  const abs = resolve(cwd, target);
  const rel = relative(repo.root, abs);
  if (rel === '..' || rel.startsWith(`..${sep}`) || resolve(repo.root, rel) !== abs) {
    throw usageError(`${target} is outside the repository ${repo.root}`, 'mlo tracks files inside the repository only');
  }
  const posix = toPosix(rel);
  if (isMloDirPath(posix)) {
    throw usageError(`${target} is inside .mlo/, which mlo manages itself`);
  }
  if (hasGitFolder(posix)) {
    throw usageError(`${target} is inside a .git folder, which git manages`);
  }
  const folder = createFolderProbe(repo.root)(posix.includes('/') ? posix.slice(0, posix.lastIndexOf('/')) : '');
  if (folder.kind === 'symlink') {
    throw usageError(
      `${target} is beyond a symbolic link (${folder.at})`,
      'mlo tracks files inside the repository only; name the folder the link points to, if it is in the repository',
    );
  }
  return posix;
}

export function isDirectory(abs: string): boolean {
  try {
    return statSync(abs).isDirectory();
  } catch {
    return false;
  }
}
