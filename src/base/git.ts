/**
 * The only module that runs git. Its parts, and the one error rule they share, are in git/:
 * run.ts (the runners and the error rule), repo.ts (synchronous questions about the repository),
 * files.ts (tracked, ignored and historical files), history.ts (branches, history, work-tree state,
 * worktrees and writing a branch).
 */
export { currentBranch, gitTopLevel, gitUser, gitVersion, headCommit, isDirty, isGitRepo, prefixInGit, resolveRev } from './git/repo.js';
export {
  gitAdd,
  gitChangedAmong,
  gitIgnoreRules,
  gitListFiles,
  gitTrackedAmong,
  listFilesAtRev,
  modifiedFiles,
  readFilesAtRev,
  untrackedFiles,
  type GitFile,
  type IgnoreRule,
} from './git/files.js';
export {
  addWorktree,
  branchExists,
  checkBranchName,
  commitFilesToBranch,
  localBranches,
  removeWorktree,
  resetWorktree,
  revsForScope,
  workState,
  type RevScope,
  type WorkState,
} from './git/history.js';
export { cloneGitRepo, fetchGitRemote, gitRemoteUrl, hasCommit, noGitRemote, pruneWorktrees, remoteBranchesContaining } from './git/remote.js';
