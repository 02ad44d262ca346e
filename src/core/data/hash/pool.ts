/**
 * Hashes many files on all cores with worker threads. Used by add and commit before the (synchronous)
 * scan: the pool fills the state database, and the scan then finds every file already hashed.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashJob, HashJobResult } from './worker.js';

export interface PoolFile {
  abs: string;
  size: number;
}

/** Below this many files (or bytes), starting workers costs more than it saves. */
export const POOL_MIN_FILES = 256;

export async function hashInPool(
  files: PoolFile[],
  options: { cacheDir: string; store: boolean; jobs?: number; onResult?: (file: PoolFile, result: HashJobResult) => void },
): Promise<HashJobResult[]> {
  const jobs = Math.max(1, Math.min(options.jobs ?? availableParallelism(), 16, files.length));
  const results: HashJobResult[] = new Array(files.length);
  // Batches of ~64 files or ~64 MiB keep messages cheap and the load balanced.
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  files.forEach((f, i) => {
    current.push(i);
    bytes += f.size;
    if (current.length >= 64 || bytes >= 64 << 20) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
  });
  if (current.length) batches.push(current);
  const workerUrl = new URL('./worker.js', import.meta.url);
  const workers = Array.from({ length: jobs }, () => new Worker(workerUrl));
  let next = 0;
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const send = () => {
              if (next >= batches.length) return resolve();
              const id = next++;
              const job: HashJob = { id, cacheDir: options.cacheDir, store: options.store, files: batches[id].map((i) => files[i].abs) };
              worker.postMessage(job);
            };
            worker.on('message', (msg: { id: number; results: HashJobResult[] }) => {
              batches[msg.id].forEach((fileIndex, k) => {
                results[fileIndex] = msg.results[k];
                options.onResult?.(files[fileIndex], msg.results[k]);
              });
              send();
            });
            worker.on('error', reject);
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
