/**
 * Outs that something else already tracks. A cached out that git tracks would be listed in .gitignore
 * while git keeps committing it (DVC: "output 'x' is already tracked by SCM"); an out that an `mlo add`
 * pointer tracks would be overwritten by the stage and then make every data command fail on the
 * overlap. Both are refused before a stage writes anything. Loaded only when a stage acts.
 */
import { join } from 'node:path';
import { MloError, isMloError } from '../../base/errors.js';
import { gitTrackedAmong } from '../../base/git.js';
import { readPointer } from '../data/pointer/pointer.js';
import { POINTER_SUFFIX } from '../data/pointer/paths.js';
import type { Repo } from '../repo/repo.js';
import { findPointerFiles, fromPointer } from '../data/tracked.js';
import { overlaps, type Pipeline, type Stage } from './load.js';

export interface OutOwners {
  /** Files git tracks that are, or are inside, a cached out of the stages looked at. */
  git: string[];
  /** What `mlo add` pointers track. */
  pointers: { path: string; pointerFile: string }[];
}

/** One `git ls-files` for the cached outs of all `stages`, and one listing of the pointer files. */
export function findOutOwners(repo: Repo, stages: Stage[]): OutOwners {
  const cached = [...new Set(stages.flatMap((s) => s.outs.filter((o) => o.cache).map((o) => o.path)))];
  // `:(literal)`: an out named `a[1].csv` or `*.bin` must match only itself.
  const git = gitTrackedAmong(
    repo.root,
    cached.map((p) => `:(literal)${p}`),
  );
  const pointers = findPointerFiles(repo).map((rel) => {
    try {
      return { path: fromPointer(rel, readPointer(join(repo.root, rel), rel)).path, pointerFile: rel };
    } catch (err) {
      // A damaged pointer still claims the path its name gives; the data commands report the damage.
      if (!isMloError(err)) throw err;
      return { path: rel.slice(0, -POINTER_SUFFIX.length), pointerFile: rel };
    }
  });
  return { git, pointers };
}

/** Refuses `stage` when one of its outs is tracked by an `mlo add` pointer or (cached outs) by git. */
export function checkOutOwners(stage: Stage, owners: OutOwners, where: Pipeline['where']): void {
  for (const out of stage.outs) {
    const pointer = owners.pointers.find((p) => overlaps(p.path, out.path));
    if (pointer) {
      const how =
        pointer.path === out.path
          ? 'is already tracked by'
          : pointer.path.startsWith(`${out.path}/`)
            ? `contains ${pointer.path}, tracked by`
            : `is inside ${pointer.path}, tracked by`;
      throw new MloError('MLO_OVERLAPPING_PATHS', `${where(out.at)}: stage '${stage.name}': out '${out.path}' ${how} ${pointer.pointerFile} (mlo add)`, {
        hint: `a path is tracked by mlo add or written by a stage, not both: to let the stage own it, delete the pointer file ${pointer.pointerFile} (git rm it if it is committed); or write the out elsewhere`,
        meta: { stage: stage.name, out: out.path, pointerFile: pointer.pointerFile },
      });
    }
    if (!out.cache) continue;
    const tracked = owners.git.filter((f) => f === out.path || f.startsWith(`${out.path}/`));
    if (tracked.length) {
      const what =
        tracked[0] === out.path
          ? 'is tracked by git'
          : `holds files tracked by git (${tracked[0]}${tracked.length > 1 ? ` and ${tracked.length - 1} more` : ''})`;
      throw new MloError('MLO_OUT_IN_GIT', `${where(out.at)}: stage '${stage.name}': out '${out.path}' ${what}`, {
        hint: `stop tracking it in git so mlo can cache it: git rm -r --cached ${out.path} (then commit); or mark the out cache: false to keep it in git`,
        meta: { stage: stage.name, out: out.path, tracked },
      });
    }
  }
}
