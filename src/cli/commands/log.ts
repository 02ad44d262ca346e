import { commandRepo } from '../repo.js';
import { ENV } from '../../core/tracking/hooks.js';
import { logEntry, noRunError, type LogEntry } from '../../core/tracking/log.js';
import { openStore, storeLocation } from '../../core/tracking/store.js';
import type { ActionContext } from '../action.js';

export function logCmd({ out, flags, opts }: ActionContext<{ step?: number; run?: string }>, kind: LogEntry['kind'], key: string, value: string): void {
  const ref = opts.run ?? process.env[ENV.runId];
  if (!ref) throw noRunError();
  // Inside a queue worker the store is the main repository's, named by $MLO_TRACKING_DB.
  const dbFile = process.env[ENV.trackingDb] || undefined;
  const loc = storeLocation(dbFile ? undefined : commandRepo(flags, { optional: true }), dbFile);
  const db = openStore(loc);
  let result;
  try {
    result = logEntry(db, loc, ref, kind === 'metric' ? { kind, key, value, step: opts.step } : { kind, key, value });
  } finally {
    db.close();
  }
  out.result(result, () =>
    flags.verbose ? `logged ${kind} ${key}=${result.value}${result.step !== undefined ? ` (step ${result.step})` : ''} in run ${result.run}` : undefined,
  );
}
