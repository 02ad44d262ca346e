/**
 * Synchronous questions about the git repository around a folder. Synchronous on purpose: most are
 * asked on synchronous paths (init, add, a run recording its git state). The async callers of
 * rev-parse (diff, metrics diff, ci report) use these too: its output needs no parsing beyond a trim,
 * and one spawnSync (~4 ms) beats loading simple-git for it (25-45 ms, see run.ts).
 */
import { MloError, isMloError } from '../errors.js';
import { probeGit } from './run.js';

/** The top of the git work tree containing `cwd`; undefined outside one, or when git is not installed. */
export function gitTopLevel(cwd: string): string | undefined {
  try {
    return probeGit(cwd, ['rev-parse', '--show-toplevel'])?.trim();
  } catch (err) {
    if (isMloError(err, 'MLO_NO_GIT')) return undefined;
    throw err;
  }
}

export function isGitRepo(cwd: string): boolean {
  return gitTopLevel(cwd) !== undefined;
}

/** Path of `root` relative to the git top-level ('' when they are the same, or outside a work tree). */
export function prefixInGit(root: string): string {
  return probeGit(root, ['rev-parse', '--show-prefix'])?.trim() ?? '';
}

/** Full commit sha of `rev`; throws MLO_UNKNOWN_REV naming the revision. */
export function resolveRev(cwd: string, rev: string): string {
  const sha = probeGit(cwd, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  if (sha === undefined) {
    throw new MloError('MLO_UNKNOWN_REV', `unknown git revision '${rev}'`, {
      hint: 'use a branch, tag or commit that `git rev-parse` knows (git fetch may be needed)',
    });
  }
  return sha.trim();
}

/** The commit HEAD points at; undefined before the first commit (or outside a work tree). */
export function headCommit(cwd: string): string | undefined {
  return probeGit(cwd, ['rev-parse', '--verify', '--quiet', 'HEAD'])?.trim();
}

/** The checked-out branch; undefined on a detached HEAD. */
export function currentBranch(cwd: string): string | undefined {
  return probeGit(cwd, ['symbolic-ref', '--short', '-q', 'HEAD'])?.trim();
}

/** Whether tracked files have uncommitted changes; false outside a work tree. */
export function isDirty(cwd: string): boolean {
  return (probeGit(cwd, ['status', '--porcelain', '--untracked-files=no'])?.trim().length ?? 0) > 0;
}

/** `Name <email>` from git config; undefined when neither is set (git config exits 1 for an unset key). */
export function gitUser(cwd: string): string | undefined {
  const name = probeGit(cwd, ['config', 'user.name'])?.trim() ?? '';
  const email = probeGit(cwd, ['config', 'user.email'])?.trim() ?? '';
  if (!name && !email) return undefined;
  return email ? `${name} <${email}>` : name;
}

/** The installed git's version ('2.39.5'); undefined when git cannot be run. */
export function gitVersion(): string | undefined {
  try {
    return probeGit(process.cwd(), ['--version'])
      ?.trim()
      .replace(/^git version /, '');
  } catch (err) {
    if (isMloError(err, 'MLO_NO_GIT')) return undefined;
    throw err;
  }
}
