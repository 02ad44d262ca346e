/**
 * Service health from the serve log, per arm (one model version; the arms of an A/B split
 * `serve --split churn@1=50,churn@2=50` are read apart): request count, error rate, latency
 * percentiles, the distribution of its predictions, last request, and how old the version is against a
 * staleness limit.
 */
import { isAbsolute, resolve } from 'node:path';
import { MloError, usageError } from '../../base/errors.js';
import { readJsonRecords } from '../../base/tabular/index.js';
import { parseServeRecord, PREDICTION_PREFIX, serveLogRows } from './servelog.js';
import { quantileSorted } from './stats.js';

export interface StatusOptions {
  cwd: string;
  log: string;
  model?: string;
  /** Staleness limit as a duration: 30d, 12h, 2w (default 30d). */
  maxAge?: string;
  /** Highest acceptable share of requests with status >= 400 (default 0.05). */
  maxErrorRate?: number;
  /** When the current version went live (ISO 8601); default: its oldest request in the log. */
  since?: string;
  /** Count requests, errors and latency over this trailing duration only (default: the whole log). */
  window?: string;
  /** Evaluate as of this time (a Date or ISO 8601 text; default: now). */
  now?: Date | string;
}

/** One output column of an arm's predictions (`prediction.score`, `prediction.y[0]`). */
export interface PredictionSummary {
  count: number;
  /** Numeric predictions. */
  mean?: number;
  p10?: number;
  p50?: number;
  p90?: number;
  /** Text or boolean predictions (labels): count per value, most frequent first, at most 20. */
  values?: Record<string, number>;
}

/** One arm: the requests a model version answered. */
export interface ModelStatus {
  /** `model@version` (`model` alone for a model served from a path). */
  arm: string;
  model: string;
  version: string | number | null;
  /** False when a later version of the model took over (its first request came after this arm's last). */
  current: boolean;
  requests: number;
  errors: number;
  errorRate: number;
  latencyMs: { p50: number; p90: number; p99: number } | null;
  firstRequest: string | null;
  lastRequest: string | null;
  /** When the current version started serving (its oldest request, or --since). */
  versionSince: string;
  ageSeconds: number;
  ageDays: number;
  stale: boolean;
  errorRateExceeded: boolean;
  ok: boolean;
  problems: string[];
  /** Predictions of the successful requests, by output column. */
  predictions: Record<string, PredictionSummary>;
}

export interface StatusReport {
  log: string;
  now: string;
  maxAge: string;
  maxAgeSeconds: number;
  maxErrorRate: number;
  window: string | null;
  models: ModelStatus[];
  ok: boolean;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Seconds in a duration such as 90s, 15m, 12h, 30d, 2w. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (!m) throw usageError(`${flag} '${text}' is not a duration`, 'write a number and a unit: 90s, 15m, 12h, 30d or 2w');
  return Number(m[1]) * UNITS[m[2]];
}

function parseTime(text: string, flag: string): number {
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw usageError(`${flag} '${text}' is not a date`, 'use ISO 8601, e.g. 2026-11-01 or 2026-11-01T12:00:00Z');
  return t;
}

interface Acc {
  model: string;
  version: string | number | null;
  requests: number;
  errors: number;
  latencies: Float64Array;
  nLatency: number;
  first: number;
  last: number;
  /** Numeric predictions by column, and counts of text ones. */
  numbers: Map<string, number[]>;
  labels: Map<string, Map<string, number>>;
}

export function serveStatus(options: StatusOptions): StatusReport {
  const now = typeof options.now === 'string' ? new Date(parseTime(options.now, '--now')) : (options.now ?? new Date());
  const maxAge = options.maxAge ?? '30d';
  const maxAgeSeconds = parseDuration(maxAge, '--max-age');
  const maxErrorRate = options.maxErrorRate ?? 0.05;
  if (!(maxErrorRate >= 0 && maxErrorRate <= 1)) throw usageError(`--max-error-rate must be between 0 and 1, got ${maxErrorRate}`);
  const since = options.since === undefined ? undefined : parseTime(options.since, '--since');
  const windowStart = options.window === undefined ? -Infinity : now.getTime() - parseDuration(options.window, '--window') * 1000;
  const path = isAbsolute(options.log) ? options.log : resolve(options.cwd, options.log);
  const predictionRows = serveLogRows({ file: options.log });

  const arms = new Map<string, Acc>();
  for (const { value, line } of readJsonRecords(path, { displayName: options.log, skipPartialLastLine: true })) {
    const rec = parseServeRecord(value, options.log, line);
    const model = rec.model ?? '(none)';
    if (options.model !== undefined && model !== options.model) continue;
    const ts = Date.parse(rec.ts);
    if (Number.isNaN(ts)) {
      throw new MloError('MLO_BAD_SERVE_LOG', `${options.log}:${line}: ts: '${rec.ts}' is not an ISO 8601 time`, {
        hint: 'serve-log records carry "ts": "2026-11-23T10:00:00.000Z"',
      });
    }
    const version = rec.version ?? null;
    const key = `${model}\u0000${version}`;
    let a = arms.get(key);
    if (!a) {
      a = {
        model,
        version,
        requests: 0,
        errors: 0,
        latencies: new Float64Array(1024),
        nLatency: 0,
        first: Infinity,
        last: -Infinity,
        numbers: new Map(),
        labels: new Map(),
      };
      arms.set(key, a);
    }
    if (ts > a.last) a.last = ts;
    if (ts < a.first) a.first = ts;
    if (ts < windowStart) continue;
    a.requests++;
    const failed = (rec.status ?? 200) >= 400;
    if (failed) a.errors++;
    else if (rec.outputs) addPredictions(a, predictionRows(value, line));
    if (typeof rec.latency_ms === 'number' && Number.isFinite(rec.latency_ms)) {
      if (a.nLatency === a.latencies.length) {
        const bigger = new Float64Array(a.latencies.length * 2);
        bigger.set(a.latencies);
        a.latencies = bigger;
      }
      a.latencies[a.nLatency++] = rec.latency_ms;
    }
  }
  if (arms.size === 0) {
    throw new MloError(
      'MLO_NO_REQUESTS',
      options.model === undefined ? `${options.log}: no requests in the log` : `${options.log}: no requests for model '${options.model}'`,
      {
        hint:
          options.model === undefined
            ? 'start the server with mlo serve and send it requests'
            : 'check the model name (drop --model to see every model in the log)',
      },
    );
  }

  const nowMs = now.getTime();
  const all = [...arms.values()];
  // A version is replaced when another version of the model started serving after its last request
  // (a rollout); arms of a split overlap in time, so each stays current.
  const replaced = (a: Acc) => all.some((o) => o !== a && o.model === a.model && o.first > a.last);
  const list: ModelStatus[] = all
    .sort((x, y) => (x.model < y.model ? -1 : x.model > y.model ? 1 : String(x.version).localeCompare(String(y.version), 'en', { numeric: true })))
    .map((a) => {
      const current = !replaced(a);
      const versionSince = since ?? a.first;
      const ageSeconds = Math.max(0, (nowMs - versionSince) / 1000);
      const lat = a.latencies.subarray(0, a.nLatency).sort();
      const errorRate = a.requests ? a.errors / a.requests : 0;
      const stale = current && ageSeconds > maxAgeSeconds;
      const errorRateExceeded = current && errorRate > maxErrorRate;
      const problems: string[] = [];
      if (stale) problems.push(`version ${a.version ?? '?'} is ${formatAge(ageSeconds)} old (limit ${maxAge})`);
      if (errorRateExceeded) problems.push(`error rate ${(errorRate * 100).toFixed(1)}% > ${(maxErrorRate * 100).toFixed(1)}%`);
      return {
        arm: a.version === null ? a.model : `${a.model}@${a.version}`,
        model: a.model,
        version: a.version,
        current,
        requests: a.requests,
        errors: a.errors,
        errorRate,
        latencyMs: lat.length ? { p50: quantileSorted(lat, 0.5), p90: quantileSorted(lat, 0.9), p99: quantileSorted(lat, 0.99) } : null,
        firstRequest: Number.isFinite(a.first) ? new Date(a.first).toISOString() : null,
        lastRequest: Number.isFinite(a.last) ? new Date(a.last).toISOString() : null,
        versionSince: new Date(versionSince).toISOString(),
        ageSeconds,
        ageDays: ageSeconds / 86400,
        stale,
        errorRateExceeded,
        ok: problems.length === 0,
        problems,
        predictions: summarizePredictions(a),
      };
    });
  return {
    log: options.log,
    now: now.toISOString(),
    maxAge,
    maxAgeSeconds,
    maxErrorRate,
    window: options.window ?? null,
    models: list,
    ok: list.every((m) => m.ok),
  };
}

/** The prediction columns of a request's rows (as drift reads them), into the arm's tallies. */
function addPredictions(a: Acc, rows: Record<string, unknown>[]): void {
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) {
      if (!k.startsWith(PREDICTION_PREFIX) || v === null || v === undefined) continue;
      const name = k.slice(PREDICTION_PREFIX.length);
      if (typeof v === 'number') {
        let list = a.numbers.get(name);
        if (!list) a.numbers.set(name, (list = []));
        list.push(v);
      } else {
        let counts = a.labels.get(name);
        if (!counts) a.labels.set(name, (counts = new Map()));
        const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
        counts.set(text, (counts.get(text) ?? 0) + 1);
      }
    }
  }
}

function summarizePredictions(a: Acc): Record<string, PredictionSummary> {
  const out: Record<string, PredictionSummary> = {};
  for (const [name, list] of a.numbers) {
    const sorted = Float64Array.from(list.filter((v) => !Number.isNaN(v))).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    out[name] = sorted.length
      ? { count: list.length, mean: sum / sorted.length, p10: quantileSorted(sorted, 0.1), p50: quantileSorted(sorted, 0.5), p90: quantileSorted(sorted, 0.9) }
      : { count: list.length };
  }
  for (const [name, counts] of a.labels) {
    const top = [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).slice(0, 20);
    const prev = out[name];
    out[name] = { ...prev, count: (prev?.count ?? 0) + [...counts.values()].reduce((x, y) => x + y, 0), values: Object.fromEntries(top) };
  }
  return out;
}

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${(seconds / 86400).toFixed(1)}d`;
}
