/**
 * What must be kept: the roots that gc, gc --cloud, push and fetch consider referenced. The workspace,
 * the revisions a scope names (branches, tags, commits), every model version of the workspace's
 * registry, and the outs of the run cache's entries (the local one for gc, the remote's for gc --cloud).
 * One module, so local and cloud gc cannot drift apart in what they keep.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode, usageError } from '../../base/errors.js';
import { revsForScope } from '../../base/git.js';
import { parseYaml } from '../../base/yamlfile.js';
import { hashBytes } from '../data/hash/blake3.js';
import { trackedAtRev } from '../data/revisions.js';
import { allTracked, outsFromLockDoc, type Tracked } from '../data/tracked.js';
import { LOCK_FILE } from '../repo/names.js';
import { listModels, listVersionNumbers, readVersion } from '../registry/registry.js';
import type { Repo } from '../repo/repo.js';
import { runEntryKey } from '../../storage/layout.js';
import { runPool } from '../../storage/pool.js';
import type { Remote } from '../../storage/remote.js';
import { readRemoteRun, remoteRuns } from './remote-runs.js';

/** The revisions whose data must be kept (gc's scope flags). */
export interface GcScope {
  workspace?: boolean;
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
  revs?: string[];
}

/** The local run cache's entries read, and those damaged (whose objects are kept all the same). */
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
export async function localRunCacheOuts(repo: Repo): Promise<{ items: Tracked[]; kept: RunCacheKept }> {
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

/**
 * The remote's run-cache entries read (each copy once) and those that failed their checks. A failed
 * entry keeps the objects its JSON still names.
 */
export interface RemoteRunCacheKept {
  entries: number;
  refused: { key: string; entry: string; reason: string }[];
}

/**
 * What the remote's run cache keeps for `gc --cloud`: the outs of every copy of every entry under
 * `runs/`. A copy the local run cache holds byte for byte is read from there; the others are
 * downloaded and checked as fetch checks them. A copy that fails keeps whatever outs its JSON still
 * names (`outsOfRunEntry`) and is reported, and gc goes on.
 */
export async function remoteRunCacheOuts(repo: Repo, remote: Remote, jobs: number): Promise<{ items: Tracked[]; kept: RemoteRunCacheKept }> {
  const rc = await import('../pipeline/runcache.js');
  const items: Tracked[] = [];
  const kept: RemoteRunCacheKept = { entries: 0, refused: [] };
  const localBytes = (key: string): Buffer | undefined => {
    const file = rc.runCacheEntryPath(repo, key);
    try {
      return statSync(file).size <= rc.RUN_ENTRY_MAX_BYTES ? readFileSync(file) : undefined;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  };
  const copies = [...(await remoteRuns(remote))].flatMap(([key, list]) => list.map((c) => ({ key, ...c })));
  await runPool(copies, jobs, async (c) => {
    const local = localBytes(c.key);
    let text: string | undefined;
    let reason: string | undefined;
    if (local && hashBytes(local) === c.hash) {
      text = local.toString('utf8');
    } else {
      const read = await readRemoteRun(repo, remote, c.key, c);
      if (!read) return;
      ({ text, reason } = read);
    }
    kept.entries++;
    const outs = text === undefined ? undefined : rc.outsOfRunEntry(text, c.key);
    reason ??= outs?.reason;
    if (reason) kept.refused.push({ key: c.key, entry: runEntryKey(c.key, c.hash), reason });
    if (outs) items.push(...runOuts(c.key, outs.outs));
  });
  kept.refused.sort((a, b) => (a.entry < b.entry ? -1 : 1));
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

/**
 * Every out the workspace's mlo.lock names, read leniently as old revisions are: allTracked reads it
 * through the schema, which sets an invalid stage entry aside whole, and gc must still keep the valid
 * outs such an entry names.
 */
function workspaceLockOuts(repo: Repo): Tracked[] {
  let text: string;
  try {
    text = readFileSync(join(repo.root, LOCK_FILE), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
  return outsFromLockDoc(parseYaml(text, LOCK_FILE, 'MLO_BAD_LOCK'));
}

/** Tracked items in the workspace (and its model registry) plus every revision the scope names. */
export async function trackedInScope(repo: Repo, scope: GcScope): Promise<Tracked[]> {
  const items = [...allTracked(repo), ...workspaceLockOuts(repo), ...registryModels(repo)];
  const revs = new Set([...(await revsForScope(repo.root, scope)), ...(scope.revs ?? [])]);
  for (const rev of revs) for (const t of await trackedAtRev(repo, rev, { salvage: true })) items.push({ ...t, rev });
  return items;
}
