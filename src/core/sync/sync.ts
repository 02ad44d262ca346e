/**
 * push, fetch and pull: moving cache objects between the cache and a remote.
 *
 * Invariants:
 *   - push uploads only objects that `checkObject` has just verified, files before the directory
 *     manifests that list them (an interrupted push of a directory never leaves its manifest behind
 *     without its files);
 *   - fetch downloads into the cache's tmp/ folder and an object enters the cache only after its bytes
 *     hash to its name (cache/import.ts); a bad download is refused with the object and the tracked
 *     path that needs it;
 *   - every transfer is idempotent, so running a command again after Ctrl-C carries on.
 */
import { lstatSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openScan } from '../data/workspace/scan.js';
import { runCheckout, type CheckoutResult } from '../data/checkout.js';
import { importVerified, newCacheTemp, verifyDownload } from '../data/cache/import.js';
import { clearCacheTmp, hasObject, objectPath } from '../data/cache/objects.js';
import { missingObjects } from '../data/cache/presence.js';
import { checkObject, objectStatKey, stateKeyOfObject } from '../data/cache/verify.js';
import { MloError, errnoCode, isMloError } from '../../base/errors.js';
import { assertScope, registryModels, runOuts, trackedInScope, type GcScope } from './gc.js';
import { hashBytes, isDirHash, newHasher } from '../data/hash/blake3.js';
import { withRepoLock } from '../repo/lock.js';
import { neededObjects, type NeededObject } from '../data/references.js';
import { remoteJobs, resolveRemote } from '../repo/remote-config.js';
import type { LockEntry } from '../data/lockfile.js';
import type { Repo } from '../repo/repo.js';
import { StateDb, WRITTEN_BY_MLO } from '../data/state.js';
import { repoRelative, resolveTargets, type Tracked } from '../data/tracked.js';
import { POINTER_SUFFIX } from '../data/pointer/schema.js';
import { RemoteIndex } from '../../storage/known.js';
import { RUNS_PREFIX, hashOfKey, objectKey, runEntryKey, runOfKey } from '../../storage/layout.js';
import { runPool } from '../../storage/pool.js';
import { findOnRemote, type PresenceStrategy } from '../../storage/presence.js';
import { DEFAULT_INDEX_MAX_AGE_DAYS, createRemote, type Remote, type RemoteEntry, type RemoteSpec } from '../../storage/remote.js';

/** Up to about this many objects, gc --cloud lists the remote in one sequential pass. */
const FULL_LISTING_MAX = 20_000;

/** A folder remote's `.mlo-tmp-*` older than this is left over from an interrupted push (as the cache's tmp/). */
const STALE_TEMP_MS = 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

export type SyncScope = Omit<GcScope, 'workspace'>;

/** Progress callbacks (the CLI draws a bar from them). */
export interface SyncProgress {
  /** The transfer about to start: how many objects and bytes. */
  start?(phase: 'upload' | 'download', totals: { objects: number; bytes: number }): void;
  bytes?(n: number): void;
  object?(): void;
  done?(): void;
}

export interface SyncOptions extends SyncScope {
  cwd: string;
  targets?: string[];
  /** Remote name; default `core.remote`, or the only remote. */
  remote?: string;
  /** Concurrent requests; default the remote's `jobs`, else 32 for S3 and 8 for folders. */
  jobs?: number;
  progress?: SyncProgress;
  /** The caller already holds the repository lock (e.g. `mlo run --pull`); it is not taken again. */
  locked?: boolean;
  /** Also transfer the run cache: its entries and the objects their outs need (`--run-cache`). */
  runCache?: boolean;
  /**
   * push: ask the remote about every object instead of trusting the remote index (`--verify`), and
   * upload what it lacks; the index is corrected on the way.
   */
  verify?: boolean;
}

function locked<T>(repo: Repo, options: SyncOptions, command: string, fn: () => Promise<T>): Promise<T> {
  return options.locked ? fn() : withRepoLock(repo, { command }, fn);
}

export interface ObjectRef {
  hash: string;
  /** A tracked path that needs the object. */
  path: string;
}

export interface PushResult {
  remote: string;
  url: string;
  uploaded: number;
  bytes: number;
  /** Objects the remote already held. */
  present: number;
  /** Objects the targets need that are not in the local cache (nothing to push for them). */
  missingLocally: ObjectRef[];
  query: { strategy: PresenceStrategy; requests: number };
  /** With --run-cache. */
  runCache?: RunCachePushResult;
}

export interface FetchResult {
  remote?: string;
  url?: string;
  downloaded: number;
  bytes: number;
  /** Objects already in the cache. */
  cached: number;
  /** Objects the remote does not have. */
  missing: ObjectRef[];
  /** Objects whose downloaded bytes did not match their hash: refused, not stored. */
  corrupt: (ObjectRef & { reason: string })[];
  /** With --run-cache. */
  runCache?: RunCacheFetchResult;
}

export interface PullResult {
  fetch: FetchResult;
  checkout: CheckoutResult;
}

interface Opened {
  name: string;
  spec: RemoteSpec;
  remote: Remote;
  jobs: number;
  index: RemoteIndex;
  close(): Promise<void>;
}

async function openRemote(repo: Repo, options: SyncOptions): Promise<Opened> {
  const { name, spec } = resolveRemote(repo, options.remote);
  const jobs = remoteJobs(spec, options.jobs);
  const remote = await createRemote(name, spec, { jobs });
  const index = new RemoteIndex(join(repo.tmpDir, 'remote-index', `${name}.db`), remote.describe());
  return {
    name, spec, remote, jobs, index,
    close: async () => {
      index.close();
      await remote.close();
    },
  };
}

function hasScope(s: SyncScope): boolean {
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

function byPath(a: ObjectRef, b: ObjectRef): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------- push

export async function pushTargets(repo: Repo, options: SyncOptions): Promise<PushResult> {
  const items = await syncItems(repo, options);
  return locked(repo, options, 'push', async () => {
    const { objects } = neededObjects(repo, items);
    const runs = options.runCache ? await localRuns(repo) : undefined;
    for (const run of runs?.complete ?? []) for (const [h, o] of run.objects) if (!objects.has(h)) objects.set(h, o);
    const absent = missingObjects(repo.cacheDir, objects.keys());
    const missingLocally = [...absent].map((h) => ({ hash: h, path: objects.get(h)!.usedBy })).sort(byPath);
    const local = [...objects.keys()].filter((h) => !absent.has(h)).map((h) => ({ hash: h, size: statSync(objectPath(repo.cacheDir, h)).size }));
    const opened = await openRemote(repo, options);
    const { remote, index, jobs } = opened;
    const state = new StateDb(repo.tmpDir);
    try {
      // The index is trusted for `index_max_age` days after an object was last confirmed, so a push of
      // unchanged data asks nothing; --verify (or an old record) asks the remote again.
      const found = await findOnRemote(remote, local, {
        jobs, index, trustIndex: !options.verify, indexMaxAgeMs: (opened.spec.index_max_age ?? DEFAULT_INDEX_MAX_AGE_DAYS) * DAY_MS,
      });
      const todo = local.filter((o) => found.missing.has(o.hash));
      const result: PushResult = {
        remote: opened.name,
        url: remote.describe(),
        uploaded: 0,
        bytes: 0,
        present: local.length - todo.length,
        missingLocally,
        query: { strategy: found.strategy, requests: found.requests },
      };
      options.progress?.start?.('upload', { objects: todo.length, bytes: todo.reduce((n, o) => n + o.size, 0) });
      const corrupt: ObjectRef[] = [];
      const upload = async (o: { hash: string; size: number }) => {
        const usedBy = objects.get(o.hash)!.usedBy;
        // Verified just before upload, so a corrupt cache object never reaches the remote.
        const health = checkObject(repo.cacheDir, state, o.hash);
        if (health !== 'ok') {
          corrupt.push({ hash: o.hash, path: usedBy });
          return;
        }
        try {
          await remote.put(objectKey(o.hash), objectPath(repo.cacheDir, o.hash), { size: o.size, onBytes: options.progress?.bytes });
        } catch (err) {
          throw withPath(err, usedBy);
        }
        index.add(objectKey(o.hash), o.size);
        result.uploaded++;
        result.bytes += o.size;
        options.progress?.object?.();
      };
      try {
        await runPool(todo.filter((o) => !isDirHash(o.hash)), jobs, upload);
        // Manifests last, and only if no file was refused: an interrupted or failed push never leaves
        // a manifest on the remote without the files this push was sending.
        if (corrupt.length === 0) await runPool(todo.filter((o) => isDirHash(o.hash)), jobs, upload);
      } finally {
        options.progress?.done?.();
      }
      if (corrupt.length) {
        const c = corrupt.sort(byPath)[0];
        throw new MloError('MLO_CORRUPT_OBJECT', `cache object ${c.hash.slice(0, 12)} (needed by ${c.path}) is corrupt${corrupt.length > 1 ? ` (and ${corrupt.length - 1} more)` : ''}; it was not pushed`, {
          hint: 'run `mlo fsck --remove`, then `mlo add` the original data again (or `mlo fetch` a good copy) and push again',
          meta: { result: { ...result, corrupt } },
        });
      }
      // Entries last, once every object they name is on the remote: a colleague who fetches an entry
      // can restore from it.
      if (runs) result.runCache = await pushRuns(remote, runs, jobs);
      return result;
    } finally {
      state.close();
      await opened.close();
    }
  });
}

function withPath(err: unknown, usedBy: string): unknown {
  if (!isMloError(err)) return err;
  return new MloError(err.code, `${err.message} (needed by ${usedBy})`, { hint: err.hint, cause: err.cause ?? err, meta: err.meta, exitCode: err.exitCode });
}

// --------------------------------------------------------------------------------------------- fetch

export async function fetchTargets(repo: Repo, options: SyncOptions): Promise<FetchResult> {
  const items = await syncItems(repo, options);
  return locked(repo, options, 'fetch', async () => {
    const result = await fetchItems(repo, items, options);
    if (options.runCache) result.runCache = await fetchRuns(repo, options);
    throwIfIncomplete(result);
    if (result.runCache) throwIfRunsRefused(result.runCache, result.remote, result);
    return result;
  });
}

export interface PullOptions extends SyncOptions {
  /** Overwrite workspace changes that are not in the cache (checkout --force). */
  force?: boolean;
  onFile?: (bytes: number) => void;
}

/** fetch, then checkout of what arrived; objects that could not be fetched are reported after. */
export async function pullTargets(repo: Repo, options: PullOptions): Promise<PullResult> {
  const items = await syncItems(repo, options);
  // Revisions other than the workspace, and registry versions, are fetched, not checked out.
  const workspaceItems = hasScope(options) ? resolveTargets(repo, options.cwd, options.targets) : items.filter((i) => !i.model);
  return locked(repo, options, 'pull', async () => {
    const fetched = await fetchItems(repo, items, options);
    if (options.runCache) fetched.runCache = await fetchRuns(repo, options);
    const ctx = openScan(repo);
    let checkout: CheckoutResult;
    try {
      checkout = runCheckout(ctx, workspaceItems, { force: options.force, onFile: options.onFile });
    } finally {
      ctx.state.close();
    }
    const result = { fetch: fetched, checkout };
    throwIfIncomplete(fetched, result);
    if (fetched.runCache) throwIfRunsRefused(fetched.runCache, fetched.remote, result);
    return result;
  });
}

function throwIfIncomplete(r: FetchResult, whole: unknown = r): void {
  const where = r.remote ? `remote '${r.remote}'` : 'the remote';
  if (r.corrupt.length) {
    const c = r.corrupt[0];
    const more = r.corrupt.length > 1 ? ` (and ${r.corrupt.length - 1} more)` : '';
    throw new MloError('MLO_CORRUPT_REMOTE_OBJECT', `${where} holds a corrupt copy of object ${c.hash} (needed by ${c.path}): ${c.reason}${more}; it was not stored`, {
      hint: 'the copy on the remote was damaged or tampered with: delete the bad one on the remote, then run `mlo push --verify` on a machine whose cache holds a good copy (a plain push trusts .mlo/tmp/remote-index and skips it)',
      meta: { result: whole },
    });
  }
  if (r.missing.length) {
    const list = r.missing.slice(0, 3).map((m) => `${m.hash.slice(0, 12)} (${m.path})`).join(', ');
    const more = r.missing.length > 3 ? ` and ${r.missing.length - 3} more` : '';
    throw new MloError('MLO_MISSING_ON_REMOTE', `${r.missing.length} ${r.missing.length === 1 ? 'object is' : 'objects are'} not on ${where}: ${list}${more}`, {
      hint: 'push them from the machine that added the data (`mlo push`), or pick another remote with -r',
      meta: { result: whole },
    });
  }
}

/** Hashes a download while it arrives (saves reading a large object back). */
function hashingSink() {
  let hasher = newHasher();
  let bytes = 0;
  return {
    reset() {
      hasher = newHasher();
      bytes = 0;
    },
    update(chunk: Buffer) {
      hasher.update(chunk);
      bytes += chunk.length;
    },
    result: () => ({ hash: hasher.digest('hex'), bytes }),
  };
}

interface Downloader {
  result: FetchResult;
  /** Opens the remote on first use: a fully cached pull needs no remote (nor the AWS SDK). */
  open(): Promise<Opened>;
  /** Downloads, verifies and stores objects; those missing or corrupt on the remote are recorded. */
  download(objects: { hash: string; size?: number; usedBy: string }[]): Promise<void>;
  /** Downloads the manifests of directories whose manifest the cache lacks. */
  manifests(items: Tracked[]): Promise<void>;
  failed: Set<string>;
  close(): Promise<void>;
}

function downloader(repo: Repo, options: SyncOptions): Downloader {
  const result: FetchResult = { downloaded: 0, bytes: 0, cached: 0, missing: [], corrupt: [] };
  const failed = new Set<string>();
  let opened: Opened | undefined;
  let state: StateDb | undefined;
  const open = async () => {
    if (!opened) {
      opened = await openRemote(repo, options);
      result.remote = opened.name;
      result.url = opened.remote.describe();
    }
    return opened;
  };
  const one = async (o: { hash: string; size?: number; usedBy: string }) => {
    const { remote, index } = await open();
    const tmp = newCacheTemp(repo.cacheDir);
    try {
      const sink = isDirHash(o.hash) ? undefined : hashingSink();
      await remote.get(objectKey(o.hash), tmp, { size: o.size, onBytes: options.progress?.bytes, sink });
      const verdict = verifyDownload(tmp, o.hash, o.size, sink?.result());
      if (!verdict.ok) {
        failed.add(o.hash);
        result.corrupt.push({ hash: o.hash, path: o.usedBy, reason: verdict.reason });
        // Not a good copy: this machine's next push must not take it for one.
        index.remove([objectKey(o.hash)]);
        return;
      }
      importVerified(repo.cacheDir, o.hash, tmp);
      state ??= new StateDb(repo.tmpDir);
      // Hashed just now, so checkout need not hash it again. (Recorded with the default racy-mtime
      // guard: an object written within the last 50 ms is hashed again later, which is cheap.)
      state.record(stateKeyOfObject(o.hash), objectStatKey(lstatSync(objectPath(repo.cacheDir, o.hash))), o.hash, WRITTEN_BY_MLO);
      index.add(objectKey(o.hash), verdict.size);
      result.downloaded++;
      result.bytes += verdict.size;
      options.progress?.object?.();
    } catch (err) {
      if (isMloError(err, 'MLO_REMOTE_NOT_FOUND')) {
        failed.add(o.hash);
        result.missing.push({ hash: o.hash, path: o.usedBy });
        index.remove([objectKey(o.hash)]);
        return;
      }
      const codes = [errnoCode(err), errnoCode((err as { cause?: unknown } | undefined)?.cause)];
      if (codes.includes('ENOSPC') || codes.includes('EDQUOT')) {
        throw new MloError('MLO_DISK_FULL', `no space left on the cache's disk (${repo.cacheDir}) while fetching object ${o.hash.slice(0, 12)} (needed by ${o.usedBy})`, {
          cause: err,
          hint: 'free some space (`mlo gc` removes unused cache objects, or set cache.dir to a bigger disk) and run the command again; objects already fetched are kept',
          meta: { result },
        });
      }
      throw withPath(err, o.usedBy);
    } finally {
      rmSync(tmp, { force: true });
    }
  };
  const download = async (objects: { hash: string; size?: number; usedBy: string }[]) => {
    const todo = objects.filter((o) => !failed.has(o.hash));
    if (!todo.length) return;
    const { jobs } = await open();
    await runPool(todo, jobs, one);
  };
  return {
    result,
    open,
    download,
    failed,
    async manifests(items) {
      const todo = new Map<string, { hash: string; usedBy: string }>();
      for (const item of items) {
        if (isDirHash(item.hash) && !todo.has(item.hash) && !hasObject(repo.cacheDir, item.hash)) todo.set(item.hash, { hash: item.hash, usedBy: item.path });
      }
      await download([...todo.values()]);
    },
    async close() {
      result.missing.sort(byPath);
      result.corrupt.sort(byPath);
      state?.close();
      clearCacheTmp(repo.cacheDir);
      await opened?.close();
    },
  };
}

/** Downloads what `items` need and the cache lacks: directory manifests first, then their files. */
async function fetchItems(repo: Repo, items: Tracked[], options: SyncOptions): Promise<FetchResult> {
  clearCacheTmp(repo.cacheDir);
  const dl = downloader(repo, options);
  try {
    await dl.manifests(items);
    const { objects } = neededObjects(repo, items);
    const absent = missingObjects(repo.cacheDir, objects.keys());
    // Manifests fetched just above were not in the cache before this command.
    dl.result.cached = objects.size - absent.size - dl.result.downloaded;
    const todo = [...absent].filter((h) => !dl.failed.has(h)).map((h) => objects.get(h)!);
    if (todo.length) {
      options.progress?.start?.('download', { objects: todo.length, bytes: todo.reduce((n, o) => n + (o.size ?? 0), 0) });
      try {
        await dl.download(todo);
      } finally {
        options.progress?.done?.();
      }
    }
  } finally {
    await dl.close();
  }
  return dl.result;
}

// ----------------------------------------------------------------------------------------- run cache

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
  objects: Omit<FetchResult, 'remote' | 'url' | 'runCache'>;
}

interface LocalRun {
  key: string;
  file: string;
  objects: Map<string, NeededObject>;
}

/** The local run cache's entries, split into those whose out objects are all cached and the rest. */
async function localRuns(repo: Repo): Promise<{ complete: LocalRun[]; skipped: RunCachePushResult['skipped'] }> {
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
      if (absent.size) return `${absent.size} ${absent.size === 1 ? 'object' : 'objects'} of its outs ${absent.size === 1 ? 'is' : 'are'} not in the cache (${needed.objects.get([...absent][0])!.usedBy})`;
      complete.push({ key, file, objects: needed.objects });
      return undefined;
    })();
    if (reason) skipped.push({ key, reason });
  }
  return { complete, skipped };
}

/** The run-cache entries the remote holds, by run key (keys outside the layout are ignored). */
async function remoteRuns(remote: Remote): Promise<Map<string, { hash: string; size: number }[]>> {
  const runs = new Map<string, { hash: string; size: number }[]>();
  for await (const page of remote.list(RUNS_PREFIX)) {
    for (const e of page) {
      const run = runOfKey(e.key);
      if (!run) continue;
      const list = runs.get(run.key) ?? [];
      list.push({ hash: run.hash, size: e.size });
      runs.set(run.key, list);
    }
  }
  return runs;
}

async function pushRuns(remote: Remote, runs: Awaited<ReturnType<typeof localRuns>>, jobs: number): Promise<RunCachePushResult> {
  const there = await remoteRuns(remote);
  const todo = runs.complete
    .map((r) => ({ ...r, hash: hashBytes(readFileSync(r.file)) }))
    .filter((r) => !there.get(r.key)?.some((t) => t.hash === r.hash));
  await runPool(todo, jobs, (r) => remote.put(runEntryKey(r.key, r.hash), r.file, { size: statSync(r.file).size }));
  return { uploaded: todo.length, present: runs.complete.length - todo.length, skipped: runs.skipped };
}

interface RemoteRunRead {
  /** The entry, when it passed every check. */
  entry?: LockEntry;
  /** Why it was refused. */
  reason?: string;
  /** Its text, when it was small enough to read. */
  text?: string;
}

/**
 * Downloads one copy of a remote run-cache entry and checks it: size, BLAKE3 of its bytes against its
 * name, JSON, the lock entry schema (paths inside the repository) and its run key. Undefined when it
 * was deleted on the remote since the listing.
 */
async function readRemoteRun(repo: Repo, remote: Remote, key: string, copy: { hash: string; size: number }): Promise<RemoteRunRead | undefined> {
  const rc = await import('../pipeline/runcache.js');
  if (copy.size > rc.RUN_ENTRY_MAX_BYTES) return { reason: `${copy.size} bytes is too big for a run-cache entry` };
  const tmp = newCacheTemp(repo.cacheDir);
  try {
    await remote.get(runEntryKey(key, copy.hash), tmp, { size: copy.size });
    const bytes = readFileSync(tmp);
    if (bytes.length > rc.RUN_ENTRY_MAX_BYTES) return { reason: 'too big for a run-cache entry' };
    const text = bytes.toString('utf8');
    if (hashBytes(bytes) !== copy.hash) return { text, reason: 'its content does not match its hash' };
    const parsed = rc.parseRunCacheEntry(text, key);
    return parsed.ok ? { text, entry: parsed.entry } : { text, reason: parsed.reason };
  } catch (err) {
    // Deleted on the remote since the listing: nothing to read.
    if (isMloError(err, 'MLO_REMOTE_NOT_FOUND')) return undefined;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Downloads the run-cache entries the local run cache lacks, each checked (size, BLAKE3 of its bytes
 * against its name, JSON, schema, paths, run key) before it is written (atomically), then the objects
 * that every entry on the remote needs. Objects go through fetchItems, so they are verified exactly as
 * tracked data is.
 */
async function fetchRuns(repo: Repo, options: SyncOptions): Promise<RunCacheFetchResult> {
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
function throwIfRunsRefused(r: RunCacheFetchResult, remote: string | undefined, whole: unknown): void {
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

// -------------------------------------------------------------------------------------- status --cloud

export interface CloudStatusEntry {
  path: string;
  objects: number;
  /** In the cache, not on the remote: `mlo push` sends them. */
  localOnly: number;
  /** On the remote, not in the cache: `mlo fetch` gets them. */
  remoteOnly: number;
  /** Neither in the cache nor on the remote. */
  missing: number;
}

export interface CloudStatusResult {
  remote: string;
  url: string;
  inSync: boolean;
  totals: { objects: number; both: number; localOnly: number; remoteOnly: number; missing: number };
  entries: CloudStatusEntry[];
  query: { strategy: PresenceStrategy; requests: number };
}

/**
 * Compares the objects the targets need with the cache and the remote. Always asks the remote (the
 * index of known objects is refreshed, not trusted). Directory manifests the cache lacks are fetched
 * (verified) first, since only they say which files a directory needs.
 */
export async function cloudStatus(repo: Repo, options: SyncOptions): Promise<CloudStatusResult> {
  const items = await syncItems(repo, options);
  return locked(repo, options, 'status --cloud', async () => {
    const dl = downloader(repo, { ...options, progress: undefined });
    try {
      const { remote, index, jobs, name } = await dl.open();
      await dl.manifests(items);
      const { objects } = neededObjects(repo, items);
      const absent = missingObjects(repo.cacheDir, objects.keys());
      const wanted = [...objects.values()].map((o) => ({ hash: o.hash, size: o.size ?? (absent.has(o.hash) ? undefined : statSync(objectPath(repo.cacheDir, o.hash)).size) }));
      const found = await findOnRemote(remote, wanted, { jobs, index, trustIndex: false });
      const totals = { objects: objects.size, both: 0, localOnly: 0, remoteOnly: 0, missing: 0 };
      const classify = (h: string): keyof Omit<CloudStatusEntry, 'path' | 'objects'> | 'both' => {
        const local = !absent.has(h);
        const onRemote = found.present.has(h);
        return local && onRemote ? 'both' : local ? 'localOnly' : onRemote ? 'remoteOnly' : 'missing';
      };
      for (const h of objects.keys()) totals[classify(h)]++;
      const entries: CloudStatusEntry[] = [];
      const seen = new Set<string>();
      for (const item of items) {
        const path = item.subpath ? `${item.path}/${item.subpath}` : item.path;
        const key = `${path}\0${item.hash}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const own = neededObjects(repo, [item]).objects;
        const e: CloudStatusEntry = { path, objects: own.size, localOnly: 0, remoteOnly: 0, missing: 0 };
        for (const h of own.keys()) {
          const c = classify(h);
          if (c !== 'both') e[c]++;
        }
        entries.push(e);
      }
      entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      return {
        remote: name,
        url: remote.describe(),
        inSync: totals.localOnly + totals.remoteOnly + totals.missing === 0,
        totals,
        entries,
        query: { strategy: found.strategy, requests: found.requests },
      };
    } finally {
      await dl.close();
    }
  });
}

// ---------------------------------------------------------------------------------------- gc --cloud

export interface CloudGcOptions extends SyncOptions {
  workspace?: boolean;
  /** Here: keep the objects the remote's run-cache entries need (default true). */
  runCache?: boolean;
  dry?: boolean;
  /** Delete even when directories in scope have no manifest anywhere (their files are not kept). */
  force?: boolean;
  /** Called with the plan before anything is deleted (the CLI prints the count and bytes). */
  onPlan?(plan: { objects: number; bytes: number; remote: string; url: string }): void;
}

export interface CloudGcResult {
  remote: string;
  url: string;
  dry: boolean;
  removed: { hash: string; size: number }[];
  bytes: number;
  kept: number;
  /**
   * Directories in scope whose manifest is neither cached nor on the remote (their files cannot be
   * kept). Without `force` (or `dry`) gc refuses to delete anything when there are some.
   */
  unknownDirectories: ObjectRef[];
  /** `.mlo-tmp-*` files older than an hour, left by interrupted uploads to a folder remote: removed (counted under dry). */
  staleTemps: number;
  /**
   * Unless `runCache: false`: the remote's run-cache entries read (each copy once) and those that
   * failed their checks. A failed entry keeps the objects its JSON still names.
   */
  runCache?: { entries: number; refused: { key: string; entry: string; reason: string }[] };
}

/**
 * What the remote's run cache keeps for `gc --cloud`: the outs of every copy of every entry under
 * `runs/`. A copy the local run cache holds byte for byte is read from there; the others are
 * downloaded and checked as fetch checks them. A copy that fails keeps whatever outs its JSON still
 * names (`outsOfRunEntry`) and is reported, and gc goes on.
 */
async function remoteRunCacheOuts(repo: Repo, remote: Remote, jobs: number): Promise<{ items: Tracked[]; kept: NonNullable<CloudGcResult['runCache']> }> {
  const rc = await import('../pipeline/runcache.js');
  const items: Tracked[] = [];
  const kept: NonNullable<CloudGcResult['runCache']> = { entries: 0, refused: [] };
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

/**
 * Removes remote objects that nothing in the scope (nor, by default, the remote's run cache) references. Lists the remote by its 256 shards in
 * parallel; keys that are not mlo objects are never touched.
 */
export async function cloudGc(repo: Repo, options: CloudGcOptions): Promise<CloudGcResult> {
  assertScope(options);
  const items = await trackedInScope(repo, options);
  return locked(repo, options, 'gc --cloud', async () => {
    const dl = downloader(repo, { ...options, progress: undefined });
    try {
      const { remote, index, jobs, name } = await dl.open();
      // The remote's run cache, not the local one: entries pushed from other machines name objects too.
      const runs = options.runCache === false ? undefined : await remoteRunCacheOuts(repo, remote, jobs);
      const all = runs ? [...items, ...runs.items] : items;
      await dl.manifests(all);
      const { objects: keep, unexpanded } = neededObjects(repo, all);
      // A run-cache entry whose manifest is gone everywhere (after `--no-run-cache`) is expected: that
      // run simply runs again, as fetch --run-cache treats it. Only the scope's are worth a warning.
      const fromRuns = new Set(runs?.items);
      const result: CloudGcResult = {
        remote: name, url: remote.describe(), dry: Boolean(options.dry), removed: [], bytes: 0, kept: 0,
        unknownDirectories: unexpanded.filter((t) => !fromRuns.has(t)).map((t) => ({ hash: t.hash, path: t.path })).sort(byPath),
        staleTemps: 0,
        ...(runs && { runCache: runs.kept }),
      };
      // Doubt keeps objects: without the manifest nobody knows which file objects the directory needs.
      if (result.unknownDirectories.length && !options.dry && !options.force) {
        const dirs = result.unknownDirectories;
        const list = dirs.slice(0, 3).map((d) => `${d.path} (${d.hash})`).join(', ');
        throw new MloError('MLO_UNKNOWN_MANIFEST', `gc --cloud on remote '${name}' refused: the manifest of ${list}${dirs.length > 3 ? ` and ${dirs.length - 3} more` : ''} is neither cached nor on the remote, so their files cannot be told apart from garbage`, {
          hint: 'push the manifest from a machine that has it (`mlo push`), or pass --force to accept deleting their files',
          meta: { result },
        });
      }
      const keys: string[] = [];
      const consider = (page: RemoteEntry[]) => {
        for (const e of page) {
          const h = hashOfKey(e.key);
          if (!h) continue;
          if (keep.has(h)) {
            result.kept++;
            continue;
          }
          keys.push(e.key);
          result.removed.push({ hash: h, size: e.size });
          result.bytes += e.size;
        }
      };
      // One shard estimates the remote's size: a small remote is one sequential listing, a big one
      // is listed shard by shard in parallel (256 requests at least, but `jobs` at a time).
      const sample: RemoteEntry[] = [];
      for await (const page of remote.list('00/')) sample.push(...page);
      if (sample.length * 256 <= FULL_LISTING_MAX) {
        for await (const page of remote.list('')) consider(page);
      } else {
        consider(sample);
        const shards = Array.from({ length: 255 }, (_, i) => `${(i + 1).toString(16).padStart(2, '0')}/`);
        await runPool(shards, jobs, async (shard) => {
          for await (const page of remote.list(shard)) consider(page);
        });
      }
      result.removed.sort((a, b) => (a.hash < b.hash ? -1 : 1));
      options.onPlan?.({ objects: result.removed.length, bytes: result.bytes, remote: name, url: result.url });
      if (!options.dry && keys.length) {
        index.remove(keys);
        await remote.delete(keys);
      }
      if (remote.clearStaleTemps) result.staleTemps = await remote.clearStaleTemps(STALE_TEMP_MS, Boolean(options.dry));
      return result;
    } finally {
      await dl.close();
    }
  });
}
