/**
 * The "tell git" guidance after run, exp run, add and commit: the paths to `git add` (from the
 * command's folder, quoted for the shell), or what `core.autostage` staged. Guidance, not the result:
 * on stderr and silent under -q; `--json` carries the list in the result instead.
 */
import { shellPath } from '../base/shell.js';
import type { GitTracking } from '../core/data/to-track.js';
import type { Output } from './output.js';

export function gitHint(out: Output, where: { root: string; cwd: string }, tracking: GitTracking, what: string): void {
  if (tracking.toTrack.length === 0) return;
  const paths = tracking.toTrack.map((p) => shellPath(where.root, where.cwd, p)).join(' ');
  if (tracking.staged) out.info(`\nStaged in git (core.autostage): ${paths}`);
  else out.info(`\nTo ${what} in git, run:\n    git add ${paths}`);
}
