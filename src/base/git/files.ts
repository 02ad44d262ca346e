/**
 * Which files git tracks, ignores or holds at a revision. `ls-files -z` and `cat-file --batch` stay
 * raw git: simple-git cannot stream them, and `ls-files` runs on the hot synchronous path of a no-op
 * `mlo status` (see run.ts for the measured cost of simple-git).
 */
import { spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { isMloError } from '../errors.js';
import { noGit, probeGit, runGit } from './run.js';

export interface GitFile {
  path: string;
  content: Buffer;
}

function nulList(out: string): string[] {
  return out.split('\0').filter(Boolean);
}

/** Paths (relative to `cwd`) that git tracks among `paths`; none outside a work tree. */
export function gitTrackedAmong(cwd: string, paths: string[]): string[] {
  if (paths.length === 0) return [];
  const out = probeGit(cwd, ['ls-files', '-z', '--', ...paths]);
  return out === undefined ? [] : nulList(out);
}

/**
 * Files git tracks or would track (not ignored) that match `pathspec`, relative to `cwd`; undefined
 * outside a git work tree or without git (the caller walks the tree instead). Cheap even beside huge
 * ignored data folders: git does not descend into them.
 */
export function gitListFiles(cwd: string, pathspec: string): string[] | undefined {
  try {
    const out = probeGit(cwd, ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', pathspec]);
    return out === undefined ? undefined : [...new Set(nulList(out))];
  } catch (err) {
    if (isMloError(err, 'MLO_NO_GIT')) return undefined;
    throw err;
  }
}

/** Paths below are file names, never pathspec magic or globs (`:(top)x`, `a[1].txt`). */
const LITERAL = { env: { GIT_LITERAL_PATHSPECS: '1' } };

/**
 * Which of `paths` (relative to `cwd`, with `/`) hold something a commit would take and the index does
 * not: a tracked file changed or deleted in the work tree, or an untracked file git does not ignore. A
 * folder counts when a file under it does. Empty outside a work tree or without git: there is then
 * nothing to tell git.
 */
export function gitChangedAmong(cwd: string, paths: string[]): string[] {
  if (paths.length === 0) return [];
  let out: string | undefined;
  try {
    out = probeGit(cwd, ['ls-files', '-z', '--modified', '--others', '--exclude-standard', '--', ...paths], LITERAL);
  } catch (err) {
    if (isMloError(err, 'MLO_NO_GIT')) return [];
    throw err;
  }
  if (out === undefined) return [];
  const listed = nulList(out);
  return paths.filter((p) => listed.some((f) => f === p || f.startsWith(`${p}/`)));
}

/** `git add` of `paths` (relative to `cwd`); throws MLO_GIT naming git's complaint. */
export function gitAdd(cwd: string, paths: string[]): void {
  if (paths.length) runGit(cwd, ['add', '--', ...paths], LITERAL);
}

/** Tracked files whose workspace content differs from the index, relative to the git top. */
export function modifiedFiles(cwd: string): string[] {
  return nulList(runGit(cwd, ['ls-files', '-z', '--modified', '--full-name']));
}

/** Untracked, not ignored files, relative to the git top. */
export function untrackedFiles(cwd: string): string[] {
  return nulList(runGit(cwd, ['ls-files', '-z', '--others', '--exclude-standard', '--full-name']));
}

/** Every file path at `rev` (relative to the repo top) whose name matches `suffix`. */
export function listFilesAtRev(cwd: string, rev: string, suffix?: string): string[] {
  const files = nulList(runGit(cwd, ['ls-tree', '-r', '-z', '--name-only', '--full-tree', rev]));
  return suffix ? files.filter((f) => f.endsWith(suffix)) : files;
}

/** The content of `paths` at `rev`, read through one `git cat-file --batch`; missing paths are skipped. */
export async function readFilesAtRev(cwd: string, rev: string, paths: string[]): Promise<GitFile[]> {
  if (paths.length === 0) return [];
  const child = spawn('git', ['cat-file', '--batch'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(noGit(err.message)));
    child.on('close', () => resolve());
  });
  child.stdin.end(paths.map((p) => `${rev}:${p}`).join('\n') + '\n');
  await done;
  const out = Buffer.concat(chunks);
  const files: GitFile[] = [];
  let pos = 0;
  for (const path of paths) {
    const nl = out.indexOf(10, pos);
    if (nl < 0) break;
    const header = out.subarray(pos, nl).toString('utf8');
    pos = nl + 1;
    if (header.endsWith(' missing')) continue;
    const size = Number(header.split(' ')[2]);
    files.push({ path, content: out.subarray(pos, pos + size) });
    pos += size + 1;
  }
  return files;
}

export interface IgnoreRule {
  /** The file holding the rule, relative to the repository root (absolute when outside the work tree). */
  source: string;
  line: number;
  pattern: string;
}

/**
 * Which of `paths` (relative to `root`, with `/`) git ignores, and by which rule. One `git check-ignore`
 * process answers for all of them; paths git already tracks are never reported (they are not ignored).
 * `top` is the git work tree's top, to which git reports rule sources relative. Empty when git fails:
 * exit 1 means nothing is ignored, and a git failure must not fail an add that succeeded.
 */
export function gitIgnoreRules(root: string, top: string, paths: string[]): Map<string, IgnoreRule> {
  const rules = new Map<string, IgnoreRule>();
  if (paths.length === 0) return rules;
  let out: string | undefined;
  try {
    out = probeGit(root, ['check-ignore', '--verbose', '-z', '--stdin'], { input: paths.map((p) => `${p}\0`).join('') });
  } catch (err) {
    if (isMloError(err, 'MLO_NO_GIT')) return rules;
    throw err;
  }
  if (out === undefined) return rules;
  const fields = out.split('\0');
  const rootReal = realpathSync(root);
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const [source, line, pattern, path] = fields.slice(i, i + 4);
    // A matching `!pattern` means the path is *not* ignored.
    if (source === '' || pattern.startsWith('!')) continue;
    const abs = isAbsolute(source) ? source : join(top, source);
    const fromRoot = relative(rootReal, abs);
    rules.set(path, {
      source: isAbsolute(source) && fromRoot.startsWith('..') ? source : fromRoot.split(sep).join('/'),
      line: Number(line),
      pattern,
    });
  }
  return rules;
}
