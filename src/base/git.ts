/**
 * The only module that talks to git. It runs the git CLI directly (no wrapper library): most calls
 * are one short process, and reading many blobs at a revision uses one `git cat-file --batch` process,
 * because a process per file costs ~2 ms each.
 */
import { spawn, spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { MloError } from './errors.js';

export interface GitFile {
  path: string;
  content: Buffer;
}

function git(cwd: string, args: string[], input?: string): { stdout: string; status: number; stderr: string } {
  const r = spawnSync('git', args, { cwd, input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) {
    throw new MloError('MLO_NO_GIT', `could not run git: ${r.error.message}`, { hint: 'install git and put it on PATH' });
  }
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? 1 };
}

/** The top of the git work tree containing `cwd`, or undefined outside one. */
export function gitTopLevel(cwd: string): string | undefined {
  try {
    const r = git(cwd, ['rev-parse', '--show-toplevel']);
    return r.status === 0 ? r.stdout.trim() : undefined;
  } catch (err) {
    if (err instanceof MloError && err.code === 'MLO_NO_GIT') return undefined;
    throw err;
  }
}

export function isGitRepo(cwd: string): boolean {
  return gitTopLevel(cwd) !== undefined;
}

/** Paths (relative to `cwd`) that git tracks among `paths`. */
export function gitTrackedAmong(cwd: string, paths: string[]): string[] {
  if (paths.length === 0) return [];
  const r = git(cwd, ['ls-files', '-z', '--', ...paths]);
  if (r.status !== 0) return [];
  return r.stdout.split('\0').filter(Boolean);
}

/** Full commit sha of `rev`; throws MLO_UNKNOWN_REV naming the revision. */
export function resolveRev(cwd: string, rev: string): string {
  const r = git(cwd, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  if (r.status !== 0) {
    throw new MloError('MLO_UNKNOWN_REV', `unknown git revision '${rev}'`, {
      hint: 'use a branch, tag or commit that `git rev-parse` knows (git fetch may be needed)',
    });
  }
  return r.stdout.trim();
}

/** Every file path at `rev` (relative to the repo top) whose name matches `suffix`. */
export function listFilesAtRev(cwd: string, rev: string, suffix?: string): string[] {
  const r = git(cwd, ['ls-tree', '-r', '-z', '--name-only', '--full-tree', rev]);
  if (r.status !== 0) throw new MloError('MLO_GIT', `git ls-tree ${rev} failed: ${r.stderr.trim()}`);
  const files = r.stdout.split('\0').filter(Boolean);
  return suffix ? files.filter((f) => f.endsWith(suffix)) : files;
}

/** The content of `paths` at `rev`, read through one `git cat-file --batch`; missing paths are skipped. */
export async function readFilesAtRev(cwd: string, rev: string, paths: string[]): Promise<GitFile[]> {
  if (paths.length === 0) return [];
  const child = spawn('git', ['cat-file', '--batch'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
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

/** Commits reachable from the chosen scopes, for gc and for push/fetch --all-*. */
export function revsForScope(cwd: string, scope: { allBranches?: boolean; allTags?: boolean; allCommits?: boolean }): string[] {
  const revs = new Set<string>();
  const add = (args: string[]) => {
    const r = git(cwd, args);
    if (r.status === 0) for (const line of r.stdout.split('\n')) if (line.trim()) revs.add(line.trim());
  };
  if (scope.allCommits) add(['rev-list', '--all']);
  if (scope.allBranches) add(['log', '--no-walk', '--branches', '--format=%H']);
  if (scope.allTags) add(['log', '--no-walk', '--tags', '--format=%H']);
  return [...revs];
}

export function headCommit(cwd: string): string | undefined {
  const r = git(cwd, ['rev-parse', '--verify', '--quiet', 'HEAD']);
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export function currentBranch(cwd: string): string | undefined {
  const r = git(cwd, ['symbolic-ref', '--short', '-q', 'HEAD']);
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export function isDirty(cwd: string): boolean {
  const r = git(cwd, ['status', '--porcelain', '--untracked-files=no']);
  return r.status === 0 && r.stdout.trim().length > 0;
}

export function gitUser(cwd: string): string | undefined {
  const name = git(cwd, ['config', 'user.name']).stdout.trim();
  const email = git(cwd, ['config', 'user.email']).stdout.trim();
  if (!name && !email) return undefined;
  return email ? `${name} <${email}>` : name;
}

/** Path of `root` relative to the git top-level ('' when they are the same). */
export function prefixInGit(root: string): string {
  const r = git(root, ['rev-parse', '--show-prefix']);
  return r.status === 0 ? r.stdout.trim() : '';
}

/**
 * Files git tracks or would track (not ignored) that match `pathspec`, relative to `cwd`; undefined
 * outside a git work tree. Cheap even beside huge ignored data folders: git does not descend into them.
 */
export function gitListFiles(cwd: string, pathspec: string): string[] | undefined {
  const r = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', pathspec], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.error || r.status !== 0) return undefined;
  return [...new Set(r.stdout.split('\0').filter(Boolean))];
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
 * `top` is the git work tree's top, to which git reports rule sources relative.
 */
export function gitIgnoreRules(root: string, top: string, paths: string[]): Map<string, IgnoreRule> {
  const rules = new Map<string, IgnoreRule>();
  if (paths.length === 0) return rules;
  const r = spawnSync('git', ['check-ignore', '--verbose', '-z', '--stdin'], {
    cwd: root,
    input: paths.map((p) => `${p}\0`).join(''),
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  // Exit 1 means nothing is ignored; 128 a git failure, which must not fail an add that succeeded.
  if (r.error || r.status !== 0) return rules;
  const fields = r.stdout.split('\0');
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
