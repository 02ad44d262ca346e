/**
 * Branches, history and the work tree's state for async callers, through simple-git where it parses
 * git's output for us (branch, log, status), and the plumbing that writes branches and worktrees.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MloError } from '../errors.js';
import { isGitRepo } from './repo.js';
import { probeGit, runGit, withSimpleGit } from './run.js';

/** Local branch names (a detached HEAD is not one). */
export async function localBranches(cwd: string): Promise<string[]> {
  const summary = await withSimpleGit(cwd, 'branch', (git) => git.branchLocal());
  // simple-git lists a detached HEAD as a current "branch" named after its commit.
  return Object.values(summary.branches)
    .filter((b) => !(summary.detached && b.current))
    .map((b) => b.name);
}

export interface RevScope {
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
}

/**
 * Commits reachable from the chosen scopes, for gc and for push/fetch --all-*. A scope git cannot
 * list (outside a work tree) adds no commits, as before the first commit: these are roots to keep, and
 * an empty scope keeps what the workspace names.
 */
export async function revsForScope(cwd: string, scope: RevScope): Promise<string[]> {
  const lists: Record<string, null>[] = [];
  if (scope.allCommits) lists.push({ '--all': null });
  if (scope.allBranches) lists.push({ '--no-walk': null, '--branches': null });
  if (scope.allTags) lists.push({ '--no-walk': null, '--tags': null });
  const revs = new Set<string>();
  for (const options of lists) {
    try {
      const log = await withSimpleGit(cwd, 'log', (git) => git.log({ ...options, format: { hash: '%H' } }));
      for (const entry of log.all) revs.add(entry.hash);
    } catch (err) {
      if (!(err instanceof MloError && err.code === 'MLO_GIT')) throw err;
    }
  }
  return [...revs];
}

export interface WorkState {
  commit: string | null;
  branch?: string;
  dirty: boolean;
}

/**
 * The commit, branch and uncommitted-changes flag of the work tree at `root` (one `git status` gives
 * branch and changes); undefined outside a git work tree or without git.
 */
export async function workState(root: string): Promise<WorkState | undefined> {
  if (!isGitRepo(root)) return undefined;
  return withSimpleGit(root, 'status', async (git) => {
    const status = await git.status(['--untracked-files=no']);
    // --verify --quiet exits 1 with no stderr before the first commit; simple-git returns '' then.
    const commit = (await git.revparse(['--verify', '--quiet', 'HEAD'])).trim();
    return { commit: commit || null, ...(status.detached ? {} : { branch: status.current ?? undefined }), dirty: status.files.length > 0 };
  });
}

export function branchExists(cwd: string, branch: string): boolean {
  return probeGit(cwd, ['show-ref', '--verify', '--quiet', `refs/heads/${branch}`]) !== undefined;
}

/** Throws MLO_BAD_BRANCH (a usage error) when git would refuse `branch` as a branch name. */
export function checkBranchName(cwd: string, branch: string): void {
  if (probeGit(cwd, ['check-ref-format', '--branch', branch]) === undefined) {
    throw new MloError('MLO_BAD_BRANCH', `'${branch}' is not a valid branch name`, { exitCode: 2 });
  }
}

/**
 * Creates `branch` at a new commit whose parent is `parent` and whose tree is the parent's tree with
 * `files` (path relative to the git top -> content) replaced. Returns the new commit's sha. Plumbing
 * through a temporary index, not simple-git's commit: the user's index, HEAD and workspace are never
 * touched.
 */
export function commitFilesToBranch(cwd: string, options: { parent: string; branch: string; files: Record<string, string | Buffer>; message: string }): string {
  const tmp = mkdtempSync(join(cwd, '.git', 'mlo-index-'));
  const env = { GIT_INDEX_FILE: join(tmp, 'index') };
  try {
    runGit(cwd, ['read-tree', options.parent], { env });
    for (const [path, content] of Object.entries(options.files)) {
      const blob = runGit(cwd, ['hash-object', '-w', '--stdin'], { input: content }).trim();
      runGit(cwd, ['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], { env });
    }
    const tree = runGit(cwd, ['write-tree'], { env }).trim();
    const commit = runGit(cwd, ['commit-tree', tree, '-p', options.parent, '-F', '-'], { input: options.message }).trim();
    runGit(cwd, ['branch', options.branch, commit]);
    return commit;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Adds a detached worktree at `dir` checked out at `rev` (simple-git 3 has no worktree commands). */
export function addWorktree(cwd: string, dir: string, rev: string): void {
  runGit(cwd, ['worktree', 'add', '--detach', '--force', dir, rev]);
}

/**
 * Puts the existing worktree at `dir` on `rev` as a fresh checkout would: tracked files forced to the
 * commit, every untracked and ignored file removed (two git processes, where adding and removing a
 * worktree takes three and rewrites every file).
 */
export function resetWorktree(dir: string, rev: string): void {
  runGit(dir, ['checkout', '--quiet', '--detach', '--force', rev]);
  runGit(dir, ['clean', '-ffdxq']);
}

/** Removes the worktree at `dir`. Clean-up: git's failures are ignored, and the folder goes regardless. */
export function removeWorktree(cwd: string, dir: string): void {
  probeGit(cwd, ['worktree', 'remove', '--force', dir]);
  rmSync(dir, { recursive: true, force: true });
  probeGit(cwd, ['worktree', 'prune']);
}
