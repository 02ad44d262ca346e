/**
 * Where a stage may write, checked on the file system before any stage of a run acts: a stage deletes
 * its outs before its command runs, writes a .gitignore beside them and runs in its wdir, so an out or
 * wdir reached through a symlinked folder would touch files outside the repository (DVC refuses outs
 * inside symlinked folders; git refuses paths "beyond a symbolic link"). load.ts refuses the same
 * paths by text (outside the repository, inside .mlo/ or .git/); that check is repeated here because a
 * no-op run reads stages from the parse cache, which an older mlo may have written. This module is on
 * the no-op path: one lstat per folder, no other imports.
 */
import { posix } from 'node:path';
import { MloError } from '../../base/errors.js';
import { hasGitFolder } from '../data/pointer/paths.js';
import { createFolderProbe } from '../data/workspace/folders.js';
import type { Pipeline, Stage } from './load.js';

/**
 * Refuses a stage whose wdir, or the folder of one of its outs, is a symlink or lies below one, or
 * is inside .git/. `where` turns an mlo.yaml key path into `mlo.yaml:LINE` (parsed only on error).
 */
export function checkStagePaths(root: string, stages: Iterable<Stage>, where: Pipeline['where']): void {
  const probe = createFolderProbe(root);
  for (const stage of stages) {
    const checks: { rel: string; folder: string; what: string; at: (string | number)[] }[] = [];
    if (stage.wdir) checks.push({ rel: stage.wdir, folder: stage.wdir, what: 'wdir', at: [...stage.at, 'wdir'] });
    for (const out of stage.outs) {
      const folder = posix.dirname(out.path);
      checks.push({ rel: out.path, folder: folder === '.' ? '' : folder, what: out.kind === 'out' ? 'out' : out.kind, at: out.at });
    }
    for (const c of checks) {
      if (hasGitFolder(c.rel)) {
        throw new MloError('MLO_BAD_PATH', `${where(c.at)}: stage '${stage.name}': ${c.what} '${c.rel}' is inside a .git folder, which git manages`, {
          hint: 'write it somewhere else in the repository',
          meta: { stage: stage.name, path: c.rel },
        });
      }
      // The out itself may be a symlink (cache.type symlink links outs to the cache): only its folders count.
      const state = probe(c.folder);
      if (state.kind === 'symlink') {
        throw new MloError('MLO_BAD_PATH', `${where(c.at)}: stage '${stage.name}': ${c.what} '${c.rel}' is beyond a symbolic link (${state.at})`, {
          hint: `the link may point outside the repository, and mlo never deletes or writes through a symlinked folder; use a real folder, or the path the link points to if it is in the repository`,
          meta: { stage: stage.name, path: c.rel, link: state.at },
        });
      }
    }
  }
}
