/**
 * A hashing worker: hashes files (and stores them in the cache when asked) off the main thread, so
 * `add` and `commit` use every core. Messages: { id, cacheDir, store, files: [abs...] } in,
 * { id, results: [[hash, size, stat, storedStat] | [null, errorCode, message]] } out.
 */
import { closeSync, fstatSync, lstatSync, openSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { copyFileToObject, objectPath, storeSmallFile } from '../cache/objects.js';
import { hashFd } from './blake3.js';
import { objectStatKey } from '../cache/verify.js';
import { sameStat, statKey, type StatKey } from '../state.js';

export interface HashJob {
  id: number;
  cacheDir: string;
  store: boolean;
  files: string[];
}

/** On success: the file's hash and stat, and the stat of the object when this call stored it. */
export type HashJobResult = [hash: string, size: number, stat: StatKey, stored: StatKey | null] | [hash: null, code: string, message: string];

function hashOne(abs: string, cacheDir: string, store: boolean): HashJobResult {
  try {
    const fd = openSync(abs, 'r');
    let st;
    let hashed;
    try {
      st = fstatSync(fd);
      hashed = hashFd(fd, st.size, { reuseBuffer: true });
    } finally {
      closeSync(fd);
    }
    let stored = null;
    if (store) {
      const unchanged = () => {
        if (!sameStat(lstatSync(abs), st)) {
          throw Object.assign(new Error(`${abs} changed while mlo was reading it`), { code: 'MLO_CHANGED_WHILE_READING' });
        }
      };
      const written = hashed.bytes
        ? storeSmallFile(cacheDir, hashed.hash, abs, hashed.bytes, unchanged)
        : copyFileToObject(cacheDir, hashed.hash, abs, unchanged);
      if (written) {
        // The stat for the state database is taken here, off the main thread.
        const obj = lstatSync(objectPath(cacheDir, hashed.hash));
        stored = objectStatKey(obj);
      }
    }
    return [hashed.hash, hashed.size, statKey(st), stored];
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return [null, e.code ?? 'EUNKNOWN', e.message];
  }
}

parentPort?.on('message', (job: HashJob) => {
  const results = job.files.map((abs) => hashOne(abs, job.cacheDir, job.store));
  parentPort!.postMessage({ id: job.id, results });
});
