/**
 * One metric's step series for several runs, as columns (`step` and `value` arrays per run): the shape
 * uPlot draws, and ~3x smaller than an array of point objects for a million points.
 */
import type { TrackingDb } from '../tracking/db.js';

export interface RunSeries {
  run: string;
  name: string | null;
  step: number[];
  /** null where the point is text, NaN or infinite (JSON has no such numbers; the chart leaves a gap). */
  value: (number | null)[];
}

export function seriesOf(db: TrackingDb, key: string, refs: string[]): string {
  const rows = refs.map((r) => db.findRun(r));
  // Raw rows rather than db.history's objects: a 1,000,000-point series is read in a third of the time.
  const points = db.db.prepare('SELECT step, value FROM metrics WHERE rid = ? AND key = ? ORDER BY step, ts').raw();
  const out: RunSeries[] = db.read(() =>
    rows.map((row) => {
      const step: number[] = [];
      const value: (number | null)[] = [];
      for (const [s, v] of points.iterate(row.rid, key) as Iterable<[number, number | null]>) {
        step.push(s);
        value.push(v !== null && Number.isFinite(v) ? v : null);
      }
      return { run: row.id, name: row.name, step, value };
    }),
  );
  return JSON.stringify({ key, series: out });
}
