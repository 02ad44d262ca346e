/** The run-cache entries on a remote: listing them by run key, and reading one copy, checked. */
import { readFileSync, rmSync } from 'node:fs';
import { newCacheTemp } from '../data/cache/import.js';
import { isMloError } from '../../base/errors.js';
import { hashBytes } from '../data/hash/blake3.js';
import type { LockEntry } from '../data/lockfile.js';
import type { Repo } from '../repo/repo.js';
import { RUNS_PREFIX, runEntryKey, runOfKey } from '../../storage/layout.js';
import type { Remote } from '../../storage/remote.js';

/** The run-cache entries the remote holds, by run key (keys outside the layout are ignored). */
export async function remoteRuns(remote: Remote): Promise<Map<string, { hash: string; size: number }[]>> {
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

export interface RemoteRunRead {
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
export async function readRemoteRun(repo: Repo, remote: Remote, key: string, copy: { hash: string; size: number }): Promise<RemoteRunRead | undefined> {
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
