/**
 * `mlo gc`: removes cache objects that no pointer in the chosen scope references. The workspace, the
 * models of the workspace's registry and (unless told otherwise) the run cache's outs are always kept;
 * without a scope flag gc refuses, as DVC does, because guessing wrong deletes data.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { clearCacheTmp, listObjects, removeStaleObjectTemps } from '../data/cache/objects.js';
import { usageError } from '../../base/errors.js';
import { revsForScope } from '../../base/git.js';
import { withRepoLock } from '../repo/lock.js';
import { bumpCacheGeneration } from '../data/workspace/snapshot.js';
import { neededObjects } from '../data/references.js';
import type { Repo } from '../repo/repo.js';
import { trackedAtRev } from '../data/revisions.js';
import { allTracked, type Tracked } from '../data/tracked.js';
import { listModels, listVersionNumbers, readVersion } from '../registry/registry.js';

export interface GcScope {
  workspace?: boolean;
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
  revs?: string[];
}

export interface GcOptions extends GcScope {
  dry?: boolean;
  /** Keep the objects the run cache's entries need (default true; `--no-run-cache` turns it off). */
  runCache?: boolean;
}

export interface GcResult {
  removed: { hash: string; size: number }[];
  bytes: number;
  kept: number;
  dry: boolean;
  /** Unless `runCache: false`: the entries read, and those that failed their checks (their objects are kept). */
  runCache?: RunCacheKept;
}

export interface RunCacheKept {
  entries: number;
  damaged: { key: string; reason: string }[];
}

/** The outs of one run-cache entry as tracked items, labelled with the run's key for messages. */
export function runOuts(key: string, outs: { path: string; hash: string; size: number; files?: number }[]): Tracked[] {
  return outs.map((o) => ({ path: `run-cache ${key.slice(0, 12)}:${o.path}`, hash: o.hash, size: o.size, files: o.files }));
}

/**
 * What the local run cache keeps: every entry's outs (a damaged entry keeps whatever it still names).
 * Without this, gc would leave entries that can restore nothing (dvc #4634, #9420).
 */
async function localRunCacheOuts(repo: Repo): Promise<{ items: Tracked[]; kept: RunCacheKept }> {
  const rc = await import('../pipeline/runcache.js');
  const items: Tracked[] = [];
  const kept: RunCacheKept = { entries: 0, damaged: [] };
  for (const key of rc.listRunCache(repo)) {
    const file = rc.runCacheEntryPath(repo, key);
    kept.entries++;
    if (statSync(file).size > rc.RUN_ENTRY_MAX_BYTES) {
      kept.damaged.push({ key, reason: 'too big to be a run-cache entry' });
      continue;
    }
    const { outs, reason } = rc.outsOfRunEntry(readFileSync(file, 'utf8'), key);
    if (reason) kept.damaged.push({ key, reason });
    items.push(...runOuts(key, outs));
  }
  return { items, kept };
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
      const ref = `${model.name}@${version}`;
      items.push({ path: `registry/${ref}`, hash: v.model.hash, size: v.model.size, model: ref });
    }
  }
  return items;
}

/** Tracked items in the workspace (and its model registry) plus every revision the scope names. */
export async function trackedInScope(repo: Repo, scope: GcScope): Promise<Tracked[]> {
  const items = [...allTracked(repo), ...registryModels(repo)];
  const revs = new Set([...(await revsForScope(repo.root, scope)), ...(scope.revs ?? [])]);
  for (const rev of revs) items.push(...(await trackedAtRev(repo, rev, { salvage: true })));
  return items;
}

export async function collectGarbage(repo: Repo, options: GcOptions): Promise<GcResult> {
  assertScope(options);
  return withRepoLock(repo, { command: 'gc' }, async () => {
    const items = await trackedInScope(repo, options);
    const runs = options.runCache === false ? undefined : await localRunCacheOuts(repo);
    const keep = neededObjects(repo, runs ? [...items, ...runs.items] : items).objects;
    const result: GcResult = { removed: [], bytes: 0, kept: 0, dry: Boolean(options.dry), ...(runs && { runCache: runs.kept }) };
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
