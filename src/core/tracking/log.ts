/**
 * Logging into a run from outside the runner: `mlo log metric|param|tag` and the `log` API of
 * `import { log } from 'mlo'`. The run comes from $MLO_RUN_ID (set for every stage by the tracking
 * hooks) or is named explicitly; the store from $MLO_TRACKING_DB or the repository.
 */
import { MloError } from '../../base/errors.js';
import type { TrackingDb } from './db.js';
import { exportRun, type StoreLocation } from './store.js';
import { keyProblem, toMetricValue } from './values.js';

export type LogEntry =
  | { kind: 'metric'; key: string; value: unknown; step?: number; ts?: number }
  | { kind: 'param'; key: string; value: unknown }
  | { kind: 'tag'; key: string; value: unknown };

export interface LogResult {
  run: string;
  kind: LogEntry['kind'];
  key: string;
  value: number | string;
  step?: number;
}

export function noRunError(): MloError {
  return new MloError('MLO_NO_RUN', 'no run to log to: $MLO_RUN_ID is not set', {
    hint: 'mlo log works inside a stage of `mlo run` / `mlo exp run`; elsewhere name a run with --run RUN',
  });
}

function checkKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new MloError('MLO_BAD_KEY', problem);
}

/** Writes one entry into the run `ref` (id, prefix or name) of an open store. */
export function logEntry(db: TrackingDb, loc: StoreLocation, ref: string, entry: LogEntry): LogResult {
  checkKey(entry.key);
  const run = db.findRun(ref);
  let result: LogResult;
  if (entry.kind === 'metric') {
    const mv = toMetricValue(entry.value);
    // Without --step, a key logged again continues its series instead of overwriting step 0.
    const step = entry.step ?? nextStep(db, run.rid, entry.key);
    db.logMetrics(run.rid, [{ key: entry.key, step, ts: entry.ts ?? Date.now(), ...mv }]);
    // JSON has no infinities: --json would print null.
    const shown = mv.value !== null && !Number.isFinite(mv.value) ? String(mv.value) : mv.value;
    result = { run: run.id, kind: 'metric', key: entry.key, value: shown ?? mv.text ?? 'null', step };
  } else {
    const text = typeof entry.value === 'string' ? entry.value : JSON.stringify(entry.value);
    if (entry.kind === 'param') db.logParams(run.rid, { [entry.key]: text });
    else db.logTags(run.rid, { [entry.key]: text });
    result = { run: run.id, kind: entry.kind, key: entry.key, value: text };
  }
  // A finished run's shared file is rewritten so the entry travels with it.
  if (run.status === 'finished' || run.status === 'failed' || run.status === 'interrupted') exportRun(db, loc, run.rid);
  return result;
}

function nextStep(db: TrackingDb, rid: number, key: string): number {
  const row = db.read(() => db.db.prepare('SELECT MAX(step) AS s FROM metrics WHERE rid = ? AND key = ?').get(rid, key) as { s: number | null });
  return row.s === null ? 0 : row.s + 1;
}
