/**
 * Metric gates: whether each gated metric got worse than the base revision by more than its threshold.
 * A pure function of the declared gates and the metric rows of both revisions (unchanged rows included),
 * so a gate that matches nothing fails and says so instead of passing in silence.
 */
import { THRESHOLD_RE, type Gate } from '../pipeline/schema.js';
import type { FileDiff } from '../tracking/revisions.js';
import type { GateResult } from './types.js';

/**
 * Parses `--gate KEY=higher|lower[:THRESHOLD]` (KEY may be FILE:KEY, so the split is at the last '=').
 * Returns undefined for a malformed value; the command turns that into a usage error.
 */
export function parseGateFlag(value: string): [string, Gate] | undefined {
  const eq = value.lastIndexOf('=');
  if (eq <= 0) return undefined;
  const [better, threshold, ...rest] = value.slice(eq + 1).split(':');
  if (rest.length || (better !== 'higher' && better !== 'lower')) return undefined;
  if (threshold === undefined) return [value.slice(0, eq), { better }];
  if (THRESHOLD_RE.test(threshold)) return [value.slice(0, eq), { better, threshold }];
  const n = Number(threshold);
  if (threshold.trim() === '' || !Number.isFinite(n) || n < 0) return undefined;
  return [value.slice(0, eq), { better, threshold: n }];
}

/** Checks every gate against the rows of `mlo metrics diff --all` (base as `old`, workspace as `new`). */
export function evaluateGates(gates: Record<string, Gate>, rows: FileDiff[]): GateResult[] {
  const results: GateResult[] = [];
  for (const [metric, gate] of Object.entries(gates)) {
    const matches = rows.filter((d) => d.key === metric || `${d.file}:${d.key}` === metric);
    const threshold = gate.threshold ?? 0;
    if (matches.length === 0) {
      results.push({
        metric,
        file: null,
        key: metric,
        better: gate.better,
        threshold,
        base: null,
        workspace: null,
        worsening: null,
        status: 'not-found',
        ok: false,
      });
      continue;
    }
    for (const d of matches) results.push(check(metric, gate.better, threshold, d));
  }
  return results;
}

function check(metric: string, better: Gate['better'], threshold: number | string, d: FileDiff): GateResult {
  const result = { metric, file: d.file, key: d.key, better, threshold, base: d.old, workspace: d.new, worsening: null };
  // A metric new in this change has nothing to regress from; one that disappeared cannot be judged at all.
  if (d.old === null) return { ...result, status: 'new', ok: true };
  if (d.new === null) return { ...result, status: 'removed', ok: false };
  if (typeof d.old !== 'number' || typeof d.new !== 'number') return { ...result, status: 'not-a-number', ok: false };
  const worsening = better === 'higher' ? d.old - d.new : d.new - d.old;
  const pct = typeof threshold === 'string' ? THRESHOLD_RE.exec(threshold) : null;
  const allowed = pct ? (Number(pct[1]) / 100) * Math.abs(d.old) : (threshold as number);
  // Float subtraction: 0.9 - 0.89 is 0.010000000000000009, which must not fail a threshold of 0.01.
  const slack = 1e-9 * Math.max(Math.abs(d.old), Math.abs(d.new), 1);
  const regressed = worsening > allowed + slack;
  return { ...result, worsening, status: regressed ? 'regressed' : 'passed', ok: !regressed };
}
