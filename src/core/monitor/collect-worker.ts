/**
 * Worker thread for `mlo monitor drift`: reads and sorts one data file (the reference) while the main
 * thread reads the other, then transfers the column buffers back without copying.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isMloError } from '../../base/errors.js';
import { collectJob, packCollected, type CollectJob } from './collect.js';

try {
  const { message, transfer } = packCollected(collectJob(workerData as CollectJob));
  parentPort!.postMessage({ ok: message }, transfer);
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  parentPort!.postMessage({
    error: isMloError(err) ? { code: err.code, message: err.message, hint: err.hint, exitCode: err.exitCode } : { message: e.message },
  });
}
