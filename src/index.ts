/**
 * mlo's API for TypeScript and JavaScript scripts run as pipeline stages:
 *
 * ```ts
 * import { log } from 'mlo';
 * log.param('lr', 0.01);
 * for (let step = 0; step < 10; step++) log.metric('loss', loss, { step });
 * ```
 *
 * Entries go to the run named by $MLO_RUN_ID (mlo sets it for every stage of `mlo run` and
 * `mlo exp run`). Outside a run, logging does nothing and returns false, so the same script runs on its
 * own too; `log.active` tells which.
 */
import { openRepo } from './core/repo/repo.js';
import type { TrackingDb } from './core/tracking/db.js';
import { ENV } from './core/tracking/hooks.js';
import { logEntry } from './core/tracking/log.js';
import { openStore, storeLocation, type StoreLocation } from './core/tracking/store.js';

export { MloError } from './base/errors.js';

let conn: { db: TrackingDb; loc: StoreLocation } | undefined;

function store(): { db: TrackingDb; loc: StoreLocation } {
  if (!conn) {
    const dbFile = process.env[ENV.trackingDb];
    const loc = storeLocation(dbFile ? undefined : openRepo({ cwd: process.cwd() }), dbFile || undefined);
    conn = { db: openStore(loc), loc };
    process.once('exit', () => conn?.db.close());
  }
  return conn;
}

function runId(): string | undefined {
  return process.env[ENV.runId] || undefined;
}

export interface MetricOptions {
  /** The step (epoch, iteration); default: one more than the last step logged for this key. */
  step?: number;
  /** Milliseconds since the epoch; default now. */
  timestamp?: number;
}

export const log = {
  /** True inside an mlo run (when $MLO_RUN_ID is set). */
  get active(): boolean {
    return runId() !== undefined;
  },
  /** Logs a metric value; non-numeric values are kept as text. */
  metric(key: string, value: number | string, options: MetricOptions = {}): boolean {
    const id = runId();
    if (!id) return false;
    const { db, loc } = store();
    logEntry(db, loc, id, { kind: 'metric', key, value, step: options.step, ts: options.timestamp });
    return true;
  },
  /** Logs several metrics at one step. */
  metrics(values: Record<string, number | string>, options: MetricOptions = {}): boolean {
    let ok = true;
    for (const [k, v] of Object.entries(values)) ok = log.metric(k, v, options) && ok;
    return ok;
  },
  param(key: string, value: string | number | boolean): boolean {
    const id = runId();
    if (!id) return false;
    const { db, loc } = store();
    logEntry(db, loc, id, { kind: 'param', key, value });
    return true;
  },
  tag(key: string, value: string): boolean {
    const id = runId();
    if (!id) return false;
    const { db, loc } = store();
    logEntry(db, loc, id, { kind: 'tag', key, value });
    return true;
  },
};

export default { log };
