/** Choosing what push, fetch, pull and status --cloud transfer: the targets, in the workspace or in revisions. */
import { MloError } from '../../base/errors.js';
import { POINTER_SUFFIX } from '../data/pointer/schema.js';
import { repoRelative, resolveTargets, type Tracked } from '../data/tracked.js';
import type { Repo } from '../repo/repo.js';
import { registryModels, trackedInScope } from './keep.js';
import type { SyncOptions, SyncScope } from './options.js';

/** True when the command names revisions (--rev, --all-*), not only the workspace. */
export function hasScope(s: SyncScope): boolean {
  return Boolean(s.allBranches || s.allTags || s.allCommits || s.revs?.length);
}

/**
 * Tracked items the command is about: the targets in the workspace, plus (with --rev / --all-*) what
 * those revisions track, narrowed to the targets' paths. Without targets the workspace includes the
 * model of every registry version, the set local gc keeps: an older version's model, whose package
 * file a newer one overwrote, is only in the cache, and `mlo serve NAME@N` on a clone needs it.
 */
export async function syncItems(repo: Repo, options: SyncOptions): Promise<Tracked[]> {
  if (!hasScope(options)) {
    const items = resolveTargets(repo, options.cwd, options.targets);
    return options.targets?.length ? items : [...items, ...registryModels(repo)];
  }
  const items = await trackedInScope(repo, options);
  if (!options.targets?.length) return items;
  const wanted = options.targets.map((t) => {
    const rel = repoRelative(repo, options.cwd, t);
    return rel.endsWith(POINTER_SUFFIX) ? rel.slice(0, -POINTER_SUFFIX.length) : rel;
  });
  const chosen: Tracked[] = [];
  for (const item of items) {
    for (const w of wanted) {
      if (w === '' || item.path === w || item.path.startsWith(`${w}/`)) chosen.push(item);
      else if (w.startsWith(`${item.path}/`)) chosen.push({ ...item, subpath: w.slice(item.path.length + 1) });
      else continue;
      break;
    }
  }
  if (chosen.length === 0) {
    throw new MloError('MLO_NOT_TRACKED', `${options.targets.join(', ')}: not tracked in the workspace or the chosen revisions`, {
      hint: 'check the paths; `mlo list` shows what the workspace tracks',
    });
  }
  return chosen;
}
