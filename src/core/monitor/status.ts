/**
 * Service health from the serve log: request count, error rate, latency percentiles, last request,
 * and how old the current model version is against a staleness limit.
 */
import { isAbsolute, resolve } from 'node:path';
import { MloError, usageError } from '../../base/errors.js';
import { readJsonRecords } from '../../base/tabular/index.js';
import { parseServeRecord } from './servelog.js';
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

export interface ModelStatus {
  model: string;
  version: string | number | null;
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
  requests: number;
  errors: number;
  latencies: Float64Array;
  nLatency: number;
  first: number;
  last: number;
  lastVersion: string | number | null;
  /** Oldest request per version. */
  versionFirst: Map<string, number>;
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

  const models = new Map<string, Acc>();
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
    let a = models.get(model);
    if (!a) {
      a = {
        model,
        requests: 0,
        errors: 0,
        latencies: new Float64Array(1024),
        nLatency: 0,
        first: Infinity,
        last: -Infinity,
        lastVersion: null,
        versionFirst: new Map(),
      };
      models.set(model, a);
    }
    const version = rec.version ?? null;
    if (ts >= a.last) {
      a.last = ts;
      a.lastVersion = version;
    }
    if (ts < a.first) a.first = ts;
    const vk = String(version);
    const vf = a.versionFirst.get(vk);
    if (vf === undefined || ts < vf) a.versionFirst.set(vk, ts);
    if (ts < windowStart) continue;
    a.requests++;
    if ((rec.status ?? 200) >= 400) a.errors++;
    if (typeof rec.latency_ms === 'number' && Number.isFinite(rec.latency_ms)) {
      if (a.nLatency === a.latencies.length) {
        const bigger = new Float64Array(a.latencies.length * 2);
        bigger.set(a.latencies);
        a.latencies = bigger;
      }
      a.latencies[a.nLatency++] = rec.latency_ms;
    }
  }
  if (models.size === 0) {
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
  const list: ModelStatus[] = [...models.values()]
    .sort((x, y) => (x.model < y.model ? -1 : 1))
    .map((a) => {
      const versionSince = since ?? a.versionFirst.get(String(a.lastVersion)) ?? a.first;
      const ageSeconds = Math.max(0, (nowMs - versionSince) / 1000);
      const lat = a.latencies.subarray(0, a.nLatency).sort();
      const errorRate = a.requests ? a.errors / a.requests : 0;
      const stale = ageSeconds > maxAgeSeconds;
      const errorRateExceeded = errorRate > maxErrorRate;
      const problems: string[] = [];
      if (stale) problems.push(`version ${a.lastVersion ?? '?'} is ${formatAge(ageSeconds)} old (limit ${maxAge})`);
      if (errorRateExceeded) problems.push(`error rate ${(errorRate * 100).toFixed(1)}% > ${(maxErrorRate * 100).toFixed(1)}%`);
      return {
        model: a.model,
        version: a.lastVersion,
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

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${(seconds / 86400).toFixed(1)}d`;
}
