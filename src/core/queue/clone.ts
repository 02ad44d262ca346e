/**
 * `mlo queue worker --clone URL`: a worker that brings its own clone, for machines that have none (a
 * CI runner, a fresh pod). The folder is reused across restarts: fetched when it already holds a clone
 * of that URL, refused when it holds anything else.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MloError } from '../../base/errors.js';
import { cloneGitRepo, fetchGitRemote, gitRemoteUrl } from '../../base/git.js';
import { redactUrl } from '../../storage/remote.js';
import { MLO_DIR } from '../repo/names.js';
import { GIT_REMOTE } from './submit.js';

/** Clones `url` into `dir` (or fetches, when `dir` is a clone of it); returns `dir`. `cwd` resolves a relative URL. */
export function workerClone(cwd: string, url: string, dir: string): string {
  if (existsSync(join(dir, '.git'))) {
    const origin = gitRemoteUrl(dir, GIT_REMOTE);
    if (origin !== url) {
      throw new MloError('MLO_BAD_PATH', `${dir} holds a clone of ${origin ? redactUrl(origin) : 'no git remote'}, not of ${redactUrl(url)}`, {
        hint: 'pass another folder with --work, or remove that one',
      });
    }
    fetchGitRemote(dir, GIT_REMOTE);
  } else {
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      throw new MloError('MLO_BAD_PATH', `${dir} is not empty and not a clone of ${redactUrl(url)}`, { hint: 'pass an empty or new folder with --work' });
    }
    cloneGitRepo(cwd, url, dir);
  }
  if (!existsSync(join(dir, MLO_DIR))) {
    throw new MloError('MLO_NOT_A_REPO', `${redactUrl(url)} has no ${MLO_DIR}/ at its top: not an mlo repository`, {
      hint: 'queue workers run repositories set up with mlo init (and committed)',
    });
  }
  return dir;
}
