import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TrackingDb } from './db.js';
import { diffValues, showRuns, showRunsJson } from './exp.js';

let dir: string;
let db: TrackingDb;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlo-show-'));
  db = TrackingDb.open(join(dir, 'tracking.db'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(name: string, start: number, params: Record<string, string>, metrics: Record<string, number | string>, experiment?: string): void {
  const { rid } = db.createRun({ name, status: 'finished', startTime: start, experiment });
  db.logParams(rid, params);
  db.logMetrics(
    rid,
    Object.entries(metrics).map(([key, v]) => ({ key, step: 0, ts: 1, value: typeof v === 'number' ? v : null, text: typeof v === 'number' ? null : v })),
  );
}

describe('showRuns', () => {
  beforeEach(() => {
    run('a', 1, { lr: '0.1', opt: 'sgd', depth: '10' }, { acc: 0.8, loss: 0.5 });
    run('b', 2, { lr: '0.01', opt: 'sgd', depth: '9' }, { acc: 0.9, loss: 0.3, note: 'x' });
    run('c', 3, { lr: '0.5', opt: 'sgd', depth: '2' }, { acc: 'diverged' });
    run('d', 4, { lr: '0.2', opt: 'sgd' }, {}, 'other');
  });

  it('lists runs newest first with columns and the best value of each metric', () => {
    const r = showRuns(db);
    expect(r.runs.map((x) => x.name)).toEqual(['d', 'c', 'b', 'a']);
    expect(r.total).toBe(4);
    expect(r.columns).toEqual({ params: ['depth', 'lr', 'opt'], metrics: ['acc', 'loss', 'note'] });
    expect(r.best.acc).toMatchObject({ value: 0.9, goal: 'max' });
    expect(r.best.loss).toMatchObject({ value: 0.3, goal: 'min' });
    expect(r.best.note).toBeUndefined();
    expect(r.runs[1].metrics).toEqual({ acc: 'diverged' });
  });

  it('sorts by a metric (numbers best first, text then missing last) or a numeric param', () => {
    expect(showRuns(db, { sortBy: 'acc' }).runs.map((x) => x.name)).toEqual(['b', 'a', 'c', 'd']);
    expect(showRuns(db, { sortBy: 'loss' }).runs.map((x) => x.name)).toEqual(['b', 'a', 'd', 'c']);
    expect(showRuns(db, { sortBy: 'acc', sortOrder: 'asc' }).runs.map((x) => x.name)).toEqual(['a', 'b', 'c', 'd']);
    // depth is text in the database but sorts as a number: 10 > 9 > 2.
    expect(showRuns(db, { sortBy: 'depth', sortOrder: 'desc' }).runs.map((x) => x.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(() => showRuns(db, { sortBy: 'nope' })).toThrow(/no run has a metric or param 'nope'/);
  });

  it('limits, filters by experiment and keeps only changed columns among the runs shown', () => {
    const top = showRuns(db, { sortBy: 'acc', limit: 2, onlyChanged: true });
    expect(top.runs.map((x) => x.name)).toEqual(['b', 'a']);
    expect(top.total).toBe(4);
    expect(top.columns).toEqual({ params: ['depth', 'lr'], metrics: ['acc', 'loss', 'note'] });
    expect(showRuns(db, { experiment: 'other' }).runs.map((x) => x.name)).toEqual(['d']);
  });

  it('gives the same document as JSON text', () => {
    expect(JSON.parse(showRunsJson(db, { sortBy: 'acc' }))).toEqual(JSON.parse(JSON.stringify(showRuns(db, { sortBy: 'acc' }))));
  });
});

describe('diffValues', () => {
  it('gives change and percentage for numbers, and marks added or removed keys', () => {
    expect(diffValues({ a: 2, b: 'x', c: 1 }, { a: 3, b: 'y', d: 4 }, false)).toEqual([
      { key: 'a', old: 2, new: 3, change: 1, pct: 50 },
      { key: 'b', old: 'x', new: 'y', change: null, pct: null },
      { key: 'c', old: 1, new: null, change: null, pct: null },
      { key: 'd', old: null, new: 4, change: null, pct: null },
    ]);
    expect(diffValues({ a: 0 }, { a: 1 })[0].pct).toBeNull();
    expect(diffValues({ a: 1 }, { a: 1 }, false)).toEqual([]);
  });
});
