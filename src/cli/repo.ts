/** How a command finds the repository it works in: the one at or above -C (or the current folder). */
import { findRoot, openRepo, repoAt, type Repo } from '../core/repo/repo.js';
import type { GlobalFlags } from './output.js';

/** The repository; outside one, MLO_NOT_A_REPO. */
export function commandRepo(flags: GlobalFlags): Repo;
/** `optional`: undefined outside a repository, for commands that also work on plain files (model, predict, serve, log). */
export function commandRepo(flags: GlobalFlags, options: { optional: true }): Repo | undefined;
export function commandRepo(flags: GlobalFlags, options?: { optional: true }): Repo | undefined {
  if (!options?.optional) return openRepo({ cwd: flags.cwd });
  const root = findRoot(flags.cwd);
  return root === undefined ? undefined : repoAt(root);
}
