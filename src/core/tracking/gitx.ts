/**
 * The git operations tracking needs beyond src/core/git.ts: branch names, worktrees for queue workers,
 * and committing a run's files onto a new branch through a temporary index (the user's index, HEAD
 * and workspace are never touched).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MloError } from '../../base/errors.js';

function git(cwd: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): string {
  const r = spawnSync('git', args, { cwd, input: options.input, encoding: 'utf8', maxBuffer: 1 << 28, env: options.env ? { ...process.env, ...options.env } : process.env });
  if (r.error) throw new MloError('MLO_NO_GIT', `could not run git: ${r.error.message}`, { hint: 'install git and put it on PATH' });
  if (r.status !== 0) throw new MloError('MLO_GIT', `git ${args[0]} failed: ${r.stderr.trim().split('\n')[0]}`);
  return r.stdout;
}

/** Local branches as name -> sha. */
export function branches(cwd: string): Map<string, string> {
  const out = git(cwd, ['for-each-ref', '--format=%(refname:short) %(objectname)', 'refs/heads']);
  const map = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [name, sha] = line.trim().split(' ');
    if (name && sha) map.set(name, sha);
  }
  return map;
}

export function branchExists(cwd: string, branch: string): boolean {
  const r = spawnSync('git', ['show-ref', '--verify', '--quiet', `refs/heads/${branch}`], { cwd });
  return r.status === 0;
}

export function checkBranchName(cwd: string, branch: string): void {
  const r = spawnSync('git', ['check-ref-format', '--branch', branch], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new MloError('MLO_BAD_BRANCH', `'${branch}' is not a valid branch name`, { exitCode: 2 });
}

/**
 * Creates `branch` at a new commit whose parent is `parent` and whose tree is the parent's tree with
 * `files` (path relative to the git top -> content) replaced. Returns the new commit's sha.
 */
export function commitFilesToBranch(cwd: string, options: { parent: string; branch: string; files: Record<string, string>; message: string }): string {
  const tmp = mkdtempSync(join(cwd, '.git', 'mlo-index-'));
  const env = { GIT_INDEX_FILE: join(tmp, 'index') };
  try {
    git(cwd, ['read-tree', options.parent], { env });
    for (const [path, content] of Object.entries(options.files)) {
      const blob = git(cwd, ['hash-object', '-w', '--stdin'], { input: content }).trim();
      git(cwd, ['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], { env });
    }
    const tree = git(cwd, ['write-tree'], { env }).trim();
    const commit = git(cwd, ['commit-tree', tree, '-p', options.parent, '-F', '-'], { input: options.message }).trim();
    git(cwd, ['branch', options.branch, commit]);
    return commit;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function gitDir(cwd: string): string {
  return git(cwd, ['rev-parse', '--absolute-git-dir']).trim();
}

/** Adds a detached worktree at `dir` checked out at `rev`. */
export function addWorktree(cwd: string, dir: string, rev: string): void {
  git(cwd, ['worktree', 'add', '--detach', '--force', dir, rev]);
}

export function removeWorktree(cwd: string, dir: string): void {
  spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd });
  rmSync(dir, { recursive: true, force: true });
  spawnSync('git', ['worktree', 'prune'], { cwd });
}

/** Tracked files whose workspace content differs from the index, relative to the git top. */
export function modifiedFiles(cwd: string): string[] {
  return git(cwd, ['ls-files', '-z', '--modified', '--full-name']).split('\0').filter(Boolean);
}

/** Untracked, not ignored files, relative to the git top. */
export function untrackedFiles(cwd: string): string[] {
  return git(cwd, ['ls-files', '-z', '--others', '--exclude-standard', '--full-name']).split('\0').filter(Boolean);
}
