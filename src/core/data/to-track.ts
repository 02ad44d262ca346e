/**
 * What git must record for a colleague to get what a command just did. The command says which paths it
 * wrote (mlo.lock, `.gitignore` entries, pointer files, uncached outs, run records); git says which of
 * them hold a change it has not staged. The hint lists exactly those, so following it shares the work,
 * and with `core.autostage: true` (DVC's name) mlo stages them itself.
 */
import { gitAdd, gitChangedAmong } from '../../base/git.js';
import type { Repo } from '../repo/repo.js';

export interface GitTracking {
  /** Paths relative to the root (with `/`), in the order the command wrote them: what `git add` needs. */
  toTrack: string[];
  /** True when mlo ran `git add` on them (`core.autostage`). */
  staged: boolean;
}

/** Of `written` (paths relative to the root), the ones git should track now; staged when the config says so. */
export function trackInGit(repo: Repo, written: Iterable<string>): GitTracking {
  const toTrack = gitChangedAmong(repo.root, [...new Set(written)]);
  if (!repo.config.core.autostage || toTrack.length === 0) return { toTrack, staged: false };
  gitAdd(repo.root, toTrack);
  return { toTrack, staged: true };
}
