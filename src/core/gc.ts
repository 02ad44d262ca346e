/**
 * `mlo gc`: removes cache objects that no pointer in the chosen scope references. The workspace is
 * always kept; without a scope flag gc refuses, as DVC does, because guessing wrong deletes data.
 */
import { rmSync } from 'node:fs';
import { clearCacheTmp, listObjects, removeStaleObjectTemps } from './cache/objects.js';
import { usageError } from './errors.js';
import { revsForScope } from './git.js';
import { withRepoLock } from './lock.js';
import { bumpCacheGeneration } from './workspace/snapshot.js';
import { neededObjects } from './references.js';
import type { Repo } from './repo.js';
import { trackedAtRev } from './revisions.js';
import { allTracked, type Tracked } from './tracked.js';
import { listModels, listVersionNumbers, readVersion } from './registry/registry.js';

export interface GcScope {
  workspace?: boolean;
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
  revs?: string[];
}

export interface GcOptions extends GcScope {
  dry?: boolean;
}

export interface GcResult {
  removed: { hash: string; size: number }[];
  bytes: number;
  kept: number;
  dry: boolean;
}

export function assertScope(scope: GcScope): void {
  if (!scope.workspace && !scope.allBranches && !scope.allTags && !scope.allCommits && !scope.revs?.length) {
    throw usageError(
      'gc needs a scope: which revisions must keep their data',
      'use one or more of --workspace, --all-branches, --all-tags, --all-commits, --rev REV',
    );
  }
}

/**
 * Every model version in the workspace's registry: a version stays servable after a newer package
 * overwrote its file, because its blob is found in the cache by hash, so gc must keep it.
 */
export function registryModels(repo: Repo): Tracked[] {
  const items: Tracked[] = [];
  for (const model of listModels(repo)) {
    for (const version of listVersionNumbers(repo, model.name)) {
      const v = readVersion(repo, model.name, version);
      items.push({ path: `registry/${model.name}@${version}`, hash: v.model.hash, size: v.model.size });
    }
  }
  return items;
}

/** Tracked items in the workspace (and its model registry) plus every revision the scope names. */
export async function trackedInScope(repo: Repo, scope: GcScope): Promise<Tracked[]> {
  const items = [...allTracked(repo), ...registryModels(repo)];
  const revs = new Set([...revsForScope(repo.root, scope), ...(scope.revs ?? [])]);
  for (const rev of revs) items.push(...(await trackedAtRev(repo, rev)));
  return items;
}

export async function collectGarbage(repo: Repo, options: GcOptions): Promise<GcResult> {
  assertScope(options);
  return withRepoLock(repo, { command: 'gc' }, async () => {
    const keep = neededObjects(repo, await trackedInScope(repo, options)).objects;
    const result: GcResult = { removed: [], bytes: 0, kept: 0, dry: Boolean(options.dry) };
    for (const obj of listObjects(repo.cacheDir)) {
      if (keep.has(obj.hash)) {
        result.kept++;
        continue;
      }
      result.removed.push({ hash: obj.hash, size: obj.size });
      result.bytes += obj.size;
      if (!options.dry) rmSync(obj.path, { force: true });
    }
    if (!options.dry) {
      clearCacheTmp(repo.cacheDir);
      removeStaleObjectTemps(repo.cacheDir);
      if (result.removed.length) bumpCacheGeneration(repo);
    }
    return result;
  });
}
