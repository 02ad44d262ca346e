/**
 * push: uploading cache objects (and with --run-cache, run-cache entries) to a remote.
 *
 * Invariants:
 *   - push uploads only objects that `checkObject` has just verified, files before the directory
 *     manifests that list them (an interrupted push of a directory never leaves its manifest behind
 *     without its files);
 *   - every transfer is idempotent, so running a command again after Ctrl-C carries on.
 */
import { statSync } from 'node:fs';
import { objectPath } from '../data/cache/objects.js';
import { missingObjects } from '../data/cache/presence.js';
import { checkObject } from '../data/cache/verify.js';
import { MloError } from '../../base/errors.js';
import { isDirHash } from '../data/hash/blake3.js';
import { neededObjects } from '../data/references.js';
import type { Repo } from '../repo/repo.js';
import { StateDb } from '../data/state.js';
import { objectKey } from '../../storage/layout.js';
import { runPool } from '../../storage/pool.js';
import { findOnRemote, type PresenceStrategy } from '../../storage/presence.js';
import { DEFAULT_INDEX_MAX_AGE_DAYS } from '../../storage/remote.js';
import { byPath, withPath, type ObjectRef } from './object-ref.js';
import { openRemote } from './open-remote.js';
import { withLockUnlessHeld, type SyncOptions } from './options.js';
import { localRuns, pushRuns, type RunCachePushResult } from './run-cache-transfer.js';
import { syncItems } from './targets.js';

const DAY_MS = 24 * 60 * 60 * 1000;

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

export async function pushTargets(repo: Repo, options: SyncOptions): Promise<PushResult> {
  const items = await syncItems(repo, options);
  return withLockUnlessHeld(repo, options, 'push', async () => {
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
        jobs,
        index,
        trustIndex: !options.verify,
        indexMaxAgeMs: (opened.spec.index_max_age ?? DEFAULT_INDEX_MAX_AGE_DAYS) * DAY_MS,
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
        await runPool(
          todo.filter((o) => !isDirHash(o.hash)),
          jobs,
          upload,
        );
        // Manifests last, and only if no file was refused: an interrupted or failed push never leaves
        // a manifest on the remote without the files this push was sending.
        if (corrupt.length === 0)
          await runPool(
            todo.filter((o) => isDirHash(o.hash)),
            jobs,
            upload,
          );
      } finally {
        options.progress?.done?.();
      }
      if (corrupt.length) {
        const c = corrupt.sort(byPath)[0];
        throw new MloError(
          'MLO_CORRUPT_OBJECT',
          `cache object ${c.hash.slice(0, 12)} (needed by ${c.path}) is corrupt${corrupt.length > 1 ? ` (and ${corrupt.length - 1} more)` : ''}; it was not pushed`,
          {
            hint: 'run `mlo fsck --remove`, then `mlo add` the original data again (or `mlo fetch` a good copy) and push again',
            meta: { result: { ...result, corrupt } },
          },
        );
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
