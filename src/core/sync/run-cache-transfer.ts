/**
 * Transferring the run cache (`--run-cache`): push sends the local entries whose outs are all cached,
 * fetch downloads the entries the local run cache lacks and the objects every remote entry needs.
 */
import { readFileSync, statSync } from 'node:fs';
import { missingObjects } from '../data/cache/presence.js';
import { MloError, isMloError } from '../../base/errors.js';
import { hashBytes } from '../data/hash/blake3.js';
import { neededObjects, type NeededObject } from '../data/references.js';
import type { LockEntry } from '../data/lockfile.js';
import type { Repo } from '../repo/repo.js';
import type { Tracked } from '../data/tracked.js';
import { runEntryKey } from '../../storage/layout.js';
import { runPool } from '../../storage/pool.js';
import type { Remote } from '../../storage/remote.js';
import { fetchItems, throwIfIncomplete, type DownloadResult } from './download.js';
import { openRemote } from './open-remote.js';
import type { SyncOptions } from './options.js';
import { readRemoteRun, remoteRuns } from './remote-runs.js';

export interface RunCachePushResult {
  /** Entries uploaded. */
  uploaded: number;
  /** Entries the remote already held. */
  present: number;
  /** Local entries not pushed: damaged, or some object of their outs is not in the cache (after `mlo gc`). */
  skipped: { key: string; reason: string }[];
}

export interface RunCacheFetchResult {
  /** Entries downloaded (each checked against its key) into the local run cache. */
  downloaded: number;
  /** Entries the local run cache already held. */
  present: number;
  /**
   * Remote entries refused: too big, bytes not matching their hash, not a lock entry, a path outside
   * the repository, or not matching their run key. `entry` is the remote key.
   */
  refused: { key: string; entry: string; reason: string }[];
  /** The objects the remote's entries need: downloaded, already cached, missing on the remote, corrupt. */
  objects: Omit<DownloadResult, 'remote' | 'url'>;
}

interface LocalRun {
  key: string;
  file: string;
  objects: Map<string, NeededObject>;
}

/** The local run cache's entries, split into those whose out objects are all cached and the rest. */
export async function localRuns(repo: Repo): Promise<{ complete: LocalRun[]; skipped: RunCachePushResult['skipped'] }> {
  const rc = await import('../pipeline/runcache.js');
  const complete: LocalRun[] = [];
  const skipped: RunCachePushResult['skipped'] = [];
  for (const key of rc.listRunCache(repo)) {
    const file = rc.runCacheEntryPath(repo, key);
    const reason = (() => {
      if (statSync(file).size > rc.RUN_ENTRY_MAX_BYTES) return 'too big to be a run-cache entry';
      const parsed = rc.parseRunCacheEntry(readFileSync(file, 'utf8'), key);
      if (!parsed.ok) return parsed.reason;
      const outs: Tracked[] = parsed.entry.outs.map((o) => ({ path: o.path, hash: o.hash, size: o.size, files: o.files }));
      let needed;
      try {
        needed = neededObjects(repo, outs);
      } catch (err) {
        // A corrupt manifest: the entry cannot be restored from here either.
        if (isMloError(err)) return err.message;
        throw err;
      }
      if (needed.unexpanded.length) return `the manifest of ${needed.unexpanded[0].path} is not in the cache`;
      const absent = missingObjects(repo.cacheDir, needed.objects.keys());
      if (absent.size)
        return `${absent.size} ${absent.size === 1 ? 'object' : 'objects'} of its outs ${absent.size === 1 ? 'is' : 'are'} not in the cache (${needed.objects.get([...absent][0])!.usedBy})`;
      complete.push({ key, file, objects: needed.objects });
      return undefined;
    })();
    if (reason) skipped.push({ key, reason });
  }
  return { complete, skipped };
}

/** Uploads the complete local entries the remote does not hold (same run key, same bytes); entries after objects. */
export async function pushRuns(remote: Remote, runs: Awaited<ReturnType<typeof localRuns>>, jobs: number): Promise<RunCachePushResult> {
  const there = await remoteRuns(remote);
  const todo = runs.complete.map((r) => ({ ...r, hash: hashBytes(readFileSync(r.file)) })).filter((r) => !there.get(r.key)?.some((t) => t.hash === r.hash));
  await runPool(todo, jobs, (r) => remote.put(runEntryKey(r.key, r.hash), r.file, { size: statSync(r.file).size }));
  return { uploaded: todo.length, present: runs.complete.length - todo.length, skipped: runs.skipped };
}

/**
 * Downloads the run-cache entries the local run cache lacks, each checked (size, BLAKE3 of its bytes
 * against its name, JSON, schema, paths, run key) before it is written (atomically), then the objects
 * that every entry on the remote needs. Objects go through fetchItems, so they are verified exactly as
 * tracked data is.
 */
export async function fetchRuns(repo: Repo, options: SyncOptions): Promise<RunCacheFetchResult> {
  const rc = await import('../pipeline/runcache.js');
  const opened = await openRemote(repo, options);
  const result: Omit<RunCacheFetchResult, 'objects'> = { downloaded: 0, present: 0, refused: [] };
  const outs: Tracked[] = [];
  const use = (entry: LockEntry) => outs.push(...entry.outs.map((o) => ({ path: o.path, hash: o.hash, size: o.size, files: o.files })));
  /** Downloads one copy of the run's entry and checks it; returns it when it is good. */
  const one = async (key: string, hash: string, size: number): Promise<LockEntry | undefined> => {
    const read = await readRemoteRun(repo, opened.remote, key, { hash, size });
    if (read?.reason) result.refused.push({ key, entry: runEntryKey(key, hash), reason: read.reason });
    return read?.entry;
  };
  try {
    const listed = await remoteRuns(opened.remote);
    const todo: [string, { hash: string; size: number }[]][] = [];
    for (const [key, copies] of listed) {
      const local = rc.readRunCache(repo, key);
      if (local) {
        result.present++;
        use(local);
      } else {
        todo.push([key, copies]);
      }
    }
    await runPool(todo, opened.jobs, async ([key, copies]) => {
      // Runs of the same inputs on two machines may have written different outputs: the first good copy wins.
      for (const c of copies) {
        const entry = await one(key, c.hash, c.size);
        if (!entry) continue;
        rc.writeRunCache(repo, key, entry);
        result.downloaded++;
        use(entry);
        return;
      }
    });
  } finally {
    await opened.close();
  }
  result.refused.sort((a, b) => (a.entry < b.entry ? -1 : 1));
  const { remote: _remote, url: _url, ...objects } = await fetchItems(repo, outs, options);
  return { ...result, objects };
}

/**
 * A refused entry or a corrupt object is an error, as for tracked data. Objects missing on the remote
 * are not: `gc --cloud` may have removed them, and the run cache simply does not use such an entry.
 */
export function throwIfRunsRefused(r: RunCacheFetchResult, remote: string | undefined, whole: unknown): void {
  const where = remote ? `remote '${remote}'` : 'the remote';
  if (r.refused.length) {
    const bad = r.refused[0];
    const more = r.refused.length > 1 ? ` (and ${r.refused.length - 1} more)` : '';
    throw new MloError('MLO_CORRUPT_REMOTE_OBJECT', `${where} holds a bad run-cache entry ${bad.entry}: ${bad.reason}${more}; it was not stored`, {
      hint: 'delete it on the remote; `mlo push --run-cache` from a machine whose run cache holds the run sends a good copy',
      meta: { result: whole },
    });
  }
  if (r.objects.corrupt.length) throwIfIncomplete({ ...r.objects, missing: [], remote }, whole);
}
