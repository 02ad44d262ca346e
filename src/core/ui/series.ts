/**
 * One metric's step series for several runs, as columns (`step` and `value` arrays per run): the shape
 * uPlot draws, and ~3x smaller than an array of point objects for a million points. Given a point
 * budget (the chart's width), a longer series comes decimated: the lowest and highest value of each
 * step bucket, so every spike stays visible; the chart asks again for the range it zooms to, and a
 * range that fits the budget comes exact.
 */
import type { TrackingDb } from '../tracking/db.js';

export interface SeriesOptions {
  /** At most this many points per run (decimating when more are in range); every point when absent. */
  points?: number;
  /** The step range, inclusive; the whole series when absent. */
  from?: number;
  to?: number;
}

/**
 * Finite numbers only: text points have no value, and JSON has no NaN or infinity, so those are null
 * (the chart leaves a gap).
 */
const FINITE = 'CASE WHEN value BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308 THEN value END';
const RANGE = 'rid = @rid AND key = @key AND step BETWEEN @from AND @to';

// SQLite writes each column as one JSON array and the text is spliced, never parsed: a
// 1,000,000-point series took 7 s as a million JavaScript rows, 2 s so (on a loaded machine). In
// index order (step; equal steps in the order they were logged): sorting by ts too doubled it.
const EXACT = `SELECT json_group_array(step), json_group_array(v) FROM (SELECT step, ${FINITE} AS v FROM metrics WHERE ${RANGE} ORDER BY step)`;

// Counting stops at budget + 1 rows: a million-point series is known to be over budget without
// reading it all (a full count took 200 ms, so the answer does not say how many points it stands for).
const OVER = `SELECT count(*) FROM (SELECT 1 FROM metrics WHERE ${RANGE} LIMIT @points + 1)`;
const FIRST = `SELECT step FROM metrics WHERE ${RANGE} ORDER BY step LIMIT 1`;
const LAST = `SELECT step FROM metrics WHERE ${RANGE} ORDER BY step DESC LIMIT 1`;

/**
 * One row per bucket of equal step width: first and last step, lowest and highest value. One index
 * range scan per bucket, no sort: 0.5 s for 1,000,000 points where GROUP BY a bucket expression took
 * 1.4 s (it sorts), placing the minimum and maximum at their own steps (two scans) 0.9 s, and the
 * covariance of step and value (to order them) 0.88 s.
 */
const BUCKETS = `WITH RECURSIVE b(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM b WHERE i + 1 < @buckets),
  edge(s0, s1) AS (SELECT @lo + (@hi - @lo + 1.0) * i / @buckets, @lo + (@hi - @lo + 1.0) * (i + 1) / @buckets FROM b)
SELECT (SELECT json_array(min(step), max(step), min(v), max(v))
  FROM (SELECT step, ${FINITE} AS v FROM metrics WHERE rid = @rid AND key = @key AND step >= s0 AND step < s1)) FROM edge`;

interface RunSeries {
  step: string;
  value: string;
}

function decimate(db: TrackingDb, at: { rid: number; key: string; from: number; to: number }, points: number): RunSeries | undefined {
  const sql = db.db;
  if (
    (sql
      .prepare(OVER)
      .pluck()
      .get({ ...at, points }) as number) <= points
  )
    return undefined;
  const lo = sql.prepare(FIRST).pluck().get(at) as number;
  const hi = sql.prepare(LAST).pluck().get(at) as number;
  const step: number[] = [];
  const value: (number | null)[] = [];
  const rows = sql
    .prepare(BUCKETS)
    .pluck()
    .all({ rid: at.rid, key: at.key, lo, hi, buckets: Math.max(1, Math.floor(points / 2)) }) as string[];
  type Bucket = [number | null, number | null, number | null, number | null];
  // Empty buckets (sparse steps) dropped.
  const buckets = rows.map((row) => JSON.parse(row) as Bucket).filter((b) => b[0] !== null && b[1] !== null);
  const middle = (b: Bucket | undefined) => (b && b[2] !== null && b[3] !== null ? (b[2] + b[3]) / 2 : undefined);
  for (let i = 0; i < buckets.length; i++) {
    const [first, last, min, max] = buckets[i] as [number, number, number | null, number | null];
    if (min === null || max === null) {
      step.push(first);
      value.push(null);
    } else if (min === max) {
      step.push(first);
      value.push(min);
    } else {
      // Where in the bucket the minimum and maximum fall is not read (a bucket is a pixel wide at the
      // budget the chart asks for): the series' trend across the neighbouring buckets orders them,
      // rising puts the minimum first, so a smooth curve is not drawn as a zigzag. (Points logged at
      // one step twice give both values at that step.)
      const [before, after] = [middle(buckets[i - 1]) ?? (min + max) / 2, middle(buckets[i + 1]) ?? (min + max) / 2];
      step.push(first, last);
      value.push(...(after >= before ? [min, max] : [max, min]));
    }
  }
  return { step: JSON.stringify(step), value: JSON.stringify(value) };
}

export function seriesOf(db: TrackingDb, key: string, refs: string[], options: SeriesOptions = {}): string {
  const rows = refs.map((r) => db.findRun(r));
  const from = options.from ?? -Number.MAX_VALUE;
  const to = options.to ?? Number.MAX_VALUE;
  const exact = db.db.prepare(EXACT);
  const parts = db.read(() =>
    rows.map((row) => {
      const at = { rid: row.rid, key, from, to };
      const cut = options.points === undefined ? undefined : decimate(db, at, options.points);
      const head = `{"run":${JSON.stringify(row.id)},"name":${JSON.stringify(row.name)}`;
      if (cut) return `${head},"decimated":true,"step":${cut.step},"value":${cut.value}}`;
      const [step, value] = exact.raw().get(at) as [string, string];
      return `${head},"decimated":false,"step":${step},"value":${value}}`;
    }),
  );
  return `{"key":${JSON.stringify(key)},"series":[${parts.join(',')}]}`;
}
