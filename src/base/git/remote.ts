/**
 * The git remote a queue shares: its URL, fetching from it, and whether a commit is on it. Queue
 * submitters and workers meet only through the git remote and the mlo remote, so a job may name only
 * a commit that a worker's `git fetch` can bring.
 */
import { MloError } from '../errors.js';
import { probeGit, runGit } from './run.js';

/** The URL of git remote `name`, or undefined when the repository has no such remote. */
export function gitRemoteUrl(cwd: string, name: string): string | undefined {
  return probeGit(cwd, ['remote', 'get-url', name])?.trim() || undefined;
}

/** `git fetch NAME` (branches only, quietly): brings the commits jobs name. */
export function fetchGitRemote(cwd: string, name: string): void {
  runGit(cwd, ['fetch', '--quiet', '--no-tags', name]);
}

/** Whether the object database holds `commit` (a full sha) as a commit. */
export function hasCommit(cwd: string, commit: string): boolean {
  return probeGit(cwd, ['cat-file', '-e', `${commit}^{commit}`]) !== undefined;
}

/** Remote-tracking branches of `remote` that contain `commit` (after a fetch, what the remote holds). */
export function remoteBranchesContaining(cwd: string, remote: string, commit: string): string[] {
  const out = probeGit(cwd, ['branch', '-r', '--format=%(refname:short)', '--contains', commit]);
  if (out === undefined) return [];
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(`${remote}/`));
}

/** Removes worktree records whose folders are gone (a worker killed mid-job leaves one). */
export function pruneWorktrees(cwd: string): void {
  probeGit(cwd, ['worktree', 'prune']);
}

/** The error for a repository without the git remote a queue needs. */
export function noGitRemote(remote: string): MloError {
  return new MloError('MLO_COMMIT_NOT_PUSHED', `this repository has no git remote '${remote}', so queue workers cannot fetch its commits`, {
    hint: `add one (git remote add ${remote} URL), push, then submit again`,
  });
}

/** `git clone URL DIR` (quietly), run in `cwd` (a relative URL or folder is relative to it). */
export function cloneGitRepo(cwd: string, url: string, dir: string): void {
  runGit(cwd, ['clone', '--quiet', url, dir]);
}
