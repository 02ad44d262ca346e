/**
 * Downloading objects from a remote into the cache, shared by fetch, pull, the run-cache transfer,
 * status --cloud and gc --cloud.
 *
 * Invariants:
 *   - fetch downloads into the cache's tmp/ folder and an object enters the cache only after its bytes
 *     hash to its name (cache/import.ts); a bad download is refused with the object and the tracked
 *     path that needs it;
 *   - every transfer is idempotent, so running a command again after Ctrl-C carries on.
 */
import { lstatSync, rmSync } from 'node:fs';
import { importVerified, newCacheTemp, verifyDownload } from '../data/cache/import.js';
import { clearCacheTmp, hasObject, objectPath } from '../data/cache/objects.js';
import { missingObjects } from '../data/cache/presence.js';
import { objectStatKey, stateKeyOfObject } from '../data/cache/verify.js';
import { MloError, errnoCode, isMloError } from '../../base/errors.js';
import { isDirHash, newHasher } from '../data/hash/blake3.js';
import { neededObjects } from '../data/references.js';
import type { Repo } from '../repo/repo.js';
import { StateDb, WRITTEN_BY_MLO } from '../data/state.js';
import type { Tracked } from '../data/tracked.js';
import { objectKey } from '../../storage/layout.js';
import { runPool } from '../../storage/pool.js';
import { byPath, withPath, type ObjectRef } from './object-ref.js';
import { openRemote, type Opened } from './open-remote.js';
import type { SyncOptions } from './options.js';

/** What a download of objects did (fetch's result, without its run-cache part). */
export interface DownloadResult {
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
}

/** Throws when a download was incomplete: a corrupt copy on the remote first, then objects the remote lacks. */
export function throwIfIncomplete(r: DownloadResult, whole: unknown = r): void {
  const where = r.remote ? `remote '${r.remote}'` : 'the remote';
  if (r.corrupt.length) {
    const c = r.corrupt[0];
    const more = r.corrupt.length > 1 ? ` (and ${r.corrupt.length - 1} more)` : '';
    throw new MloError(
      'MLO_CORRUPT_REMOTE_OBJECT',
      `${where} holds a corrupt copy of object ${c.hash} (needed by ${c.path}): ${c.reason}${more}; it was not stored`,
      {
        hint: 'the copy on the remote was damaged or tampered with: delete the bad one on the remote, then run `mlo push --verify` on a machine whose cache holds a good copy (a plain push trusts .mlo/tmp/remote-index and skips it)',
        meta: { result: whole },
      },
    );
  }
  if (r.missing.length) {
    const list = r.missing
      .slice(0, 3)
      .map((m) => `${m.hash.slice(0, 12)} (${m.path})`)
      .join(', ');
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

export interface Downloader {
  result: DownloadResult;
  /** Opens the remote on first use: a fully cached pull needs no remote (nor the AWS SDK). */
  open(): Promise<Opened>;
  /** Downloads, verifies and stores objects; those missing or corrupt on the remote are recorded. */
  download(objects: { hash: string; size?: number; usedBy: string }[]): Promise<void>;
  /** Downloads the manifests of directories whose manifest the cache lacks. */
  manifests(items: Tracked[]): Promise<void>;
  failed: Set<string>;
  close(): Promise<void>;
}

/** Downloads objects into the cache, each verified; the remote is opened on first use. */
export function downloader(repo: Repo, options: SyncOptions): Downloader {
  const result: DownloadResult = { downloaded: 0, bytes: 0, cached: 0, missing: [], corrupt: [] };
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
        throw new MloError(
          'MLO_DISK_FULL',
          `no space left on the cache's disk (${repo.cacheDir}) while fetching object ${o.hash.slice(0, 12)} (needed by ${o.usedBy})`,
          {
            cause: err,
            hint: 'free some space (`mlo gc` removes unused cache objects, or set cache.dir to a bigger disk) and run the command again; objects already fetched are kept',
            meta: { result },
          },
        );
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
export async function fetchItems(repo: Repo, items: Tracked[], options: SyncOptions): Promise<DownloadResult> {
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
