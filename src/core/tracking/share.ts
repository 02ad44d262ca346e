/**
 * Runs shared through the mlo remote: `mlo exp push` uploads the records of ended runs, `mlo exp pull`
 * imports the records it has not seen, and queue workers publish each run they finish the same way.
 *
 * One JSON object per run under `exps/<run-id>.json` (storage/layout.ts), the run file format of
 * store.ts. Chosen over git refs: the remote is already where a run's outputs and run-cache entries
 * go, so a worker needs one set of credentials (the remote's), not push rights on the git server; a
 * record is reachable from any branch without fetching refs; S3 and folder remotes both list a prefix
 * in one request per 1,000 runs. A record's key is its run id, so publishing is idempotent: a retried
 * queue job writes the same key, never a second run.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { MloError, isMloError } from '../../base/errors.js';
import { newCacheTemp } from '../data/cache/import.js';
import type { Repo } from '../repo/repo.js';
import { openRemote } from '../sync/open-remote.js';
import { EXPS_PREFIX, runIdOfKey, runRecordKey } from '../../storage/layout.js';
import type { Remote } from '../../storage/remote.js';
import { runPool } from '../../storage/pool.js';
import { ENDED_STATUSES } from './db.js';
import { importRecord, openStore, runFileSchema, runRecord, storeLocation, type RunFile } from './store.js';

/** A run record bigger than this is refused on pull (a 10,000-step series of 20 metrics is ~5 MB). */
const RECORD_MAX_BYTES = 64 << 20;

export interface ShareOptions {
  cwd: string;
  /** Remote name; default `core.remote`, or the only remote. */
  remote?: string;
  jobs?: number;
}

export interface ExpPushResult {
  remote: string;
  url: string;
  /** Run ids uploaded now. */
  pushed: string[];
  /** Ended runs the remote already held. */
  present: number;
}

export interface ExpPullResult {
  remote: string;
  url: string;
  /** Run ids imported now. */
  pulled: string[];
  /** Records on the remote this store already held. */
  present: number;
  /** Records that failed a check, left out (key and why). */
  refused: { key: string; reason: string }[];
}

/** The run ids the remote holds records for, with each record's size (checked before downloading it). */
export async function remoteRunIds(remote: Remote): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for await (const page of remote.list(EXPS_PREFIX)) {
    for (const e of page) {
      const id = runIdOfKey(e.key);
      if (id) ids.set(id, e.size);
    }
  }
  return ids;
}

/** Uploads one record under its run's key (idempotent: the same run always lands on the same key). */
export async function publishRecord(remote: Remote, record: RunFile, tmpFile: string): Promise<void> {
  writeFileSync(tmpFile, `${JSON.stringify(record)}\n`);
  try {
    await remote.put(runRecordKey(record.id), tmpFile);
  } finally {
    rmSync(tmpFile, { force: true });
  }
}

/** `mlo exp push`: every ended run of this store that the remote lacks. */
export async function pushRunRecords(repo: Repo, options: ShareOptions): Promise<ExpPushResult> {
  const opened = await openRemote(repo, options);
  const db = openStore(storeLocation(repo), { sync: true });
  try {
    const onRemote = await remoteRunIds(opened.remote);
    const ended = db.listRuns({ status: [...ENDED_STATUSES] });
    const todo = ended.filter((r) => !onRemote.has(r.id));
    await runPool(todo, opened.jobs, (row) => publishRecord(opened.remote, runRecord(db, row.rid), newCacheTemp(repo.cacheDir)));
    return { remote: opened.name, url: opened.remote.describe(EXPS_PREFIX), pushed: todo.map((r) => r.id), present: ended.length - todo.length };
  } finally {
    db.close();
    await opened.close();
  }
}

/** Downloads and checks one record: size, JSON, the run file schema, and the id its key names. */
async function readRecord(repo: Repo, remote: Remote, id: string, listedSize: number): Promise<{ record?: RunFile; reason?: string } | undefined> {
  // Refused from the listing: a hostile remote must not make mlo download gigabytes first.
  if (listedSize > RECORD_MAX_BYTES) return { reason: `${listedSize} bytes is too big for a run record` };
  const tmp = newCacheTemp(repo.cacheDir);
  try {
    await remote.get(runRecordKey(id), tmp);
    const bytes = readFileSync(tmp);
    if (bytes.length > RECORD_MAX_BYTES) return { reason: `${bytes.length} bytes is too big for a run record` };
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      return { reason: `invalid JSON: ${(err as Error).message}` };
    }
    const parsed = runFileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { reason: `${issue.path.join('.') || '(top level)'}: ${issue.message}` };
    }
    if (parsed.data.id !== id) return { reason: `it holds run ${parsed.data.id}, not ${id}` };
    return { record: parsed.data };
  } catch (err) {
    // Deleted on the remote since the listing: nothing to read. (The size is checked again after the
    // download: the record may have been replaced since the listing.)
    if (isMloError(err, 'MLO_REMOTE_NOT_FOUND')) return undefined;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** `mlo exp pull`: imports every record on the remote whose run this store does not hold. */
export async function pullRunRecords(repo: Repo, options: ShareOptions): Promise<ExpPullResult> {
  const opened = await openRemote(repo, options);
  try {
    const onRemote = await remoteRunIds(opened.remote);
    const loc = storeLocation(repo);
    let known: Set<string>;
    const peek = openStore(loc, { sync: true });
    try {
      known = peek.runIds();
    } finally {
      peek.close();
    }
    const todo = [...onRemote.keys()].filter((id) => !known.has(id)).sort();
    const read: Awaited<ReturnType<typeof readRecord>>[] = [];
    await runPool(todo, opened.jobs, async (id, i) => {
      read[i] = await readRecord(repo, opened.remote, id, onRemote.get(id) ?? 0);
    });
    const records: RunFile[] = [];
    const refused: ExpPullResult['refused'] = [];
    // In id order, whatever order the downloads finished in.
    todo.forEach((id, i) => {
      const r = read[i];
      if (r?.record) records.push(r.record);
      else if (r?.reason) refused.push({ key: runRecordKey(id), reason: r.reason });
    });
    const db = openStore(loc);
    const pulled: string[] = [];
    try {
      db.write(() => {
        // Another pull may have imported some meanwhile: ids are checked again inside the transaction.
        const now = db.runIds();
        for (const r of records) {
          if (now.has(r.id)) continue;
          importRecord(db, r);
          pulled.push(r.id);
        }
      });
    } finally {
      db.close();
    }
    return { remote: opened.name, url: opened.remote.describe(EXPS_PREFIX), pulled, present: onRemote.size - todo.length, refused };
  } finally {
    await opened.close();
  }
}

/** The error for a pull whose records all failed their checks (nothing imported is not success). */
export function refusedError(r: ExpPullResult): MloError {
  const first = r.refused[0];
  return new MloError('MLO_BAD_RUN_FILE', `${r.url.replace(/\/?$/, '/')}${first.key.slice(EXPS_PREFIX.length)}: ${first.reason}`, {
    hint: `${r.refused.length} run record(s) on remote '${r.remote}' were refused; remove them there or push them again from their machine`,
    meta: { result: r },
  });
}
