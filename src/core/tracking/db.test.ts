import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TrackingDb } from './db.js';
import { SCHEMA_VERSION } from './migrations.js';
import { showRuns } from './exp.js';
import { exportRun, importRunFiles, runRecord, storeLocation } from './store.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'mlo-trk-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('migrations', () => {
  it('upgrades an older database in place, keeping its runs', () => {
    const file = join(tmp(), 'tracking.db');
    const old = TrackingDb.open(file, { schemaVersion: 1 });
    // Version 1's columns only: what an older mlo wrote.
    old.db.exec(`INSERT INTO runs (id, experiment, name, status) VALUES ('r1', 1, 'kept', 'finished')`);
    old.logMetrics(1, [{ key: 'acc', step: 0, value: 0.9, text: null, ts: 1 }]);
    expect(old.db.pragma('user_version', { simple: true })).toBe(1);
    old.close();

    const db = TrackingDb.open(file);
    expect(db.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const run = db.findRun('kept');
    expect(db.latestMetrics(run.rid)).toEqual({ acc: 0.9 });
    // Migration 3 filled the per-run summary that exp show reads.
    expect(showRuns(db).runs[0]).toMatchObject({ name: 'kept', metrics: { acc: 0.9 } });
    db.logLineage(run.rid, [{ direction: 'out', path: 'model.onnx', hash: 'a'.repeat(64) }]);
    expect(db.lineage(run.rid)).toHaveLength(1);
    db.close();
  });

  it('refuses a database from a newer mlo and leaves it untouched', () => {
    const file = join(tmp(), 'tracking.db');
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    expect(() => TrackingDb.open(file, { displayName: '.mlo/tracking.db' })).toThrow(/\.mlo\/tracking\.db was written by a newer mlo/);
    const again = new Database(file);
    expect(again.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 5);
    again.close();
  });
});

describe('TrackingDb', () => {
  it('reports a database locked past the busy timeout as MLO_DB_LOCKED', () => {
    const file = join(tmp(), 'tracking.db');
    const db = TrackingDb.open(file, { timeoutMs: 50 });
    const { rid } = db.createRun({ status: 'running' });
    const other = new Database(file);
    other.exec('BEGIN EXCLUSIVE');
    try {
      expect(() => db.logParams(rid, { lr: '0.1' })).toThrow(expect.objectContaining({ code: 'MLO_DB_LOCKED' }));
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    db.logParams(rid, { lr: '0.1' });
    db.close();
  });

  it('keeps the latest value by step, then time, and non-numeric values as text', () => {
    const db = TrackingDb.open(join(tmp(), 'tracking.db'));
    const { rid } = db.createRun({ status: 'running' });
    db.logMetrics(rid, [
      { key: 'loss', step: 2, value: 0.5, text: null, ts: 10 },
      { key: 'loss', step: 1, value: 0.9, text: null, ts: 20 },
      { key: 'note', step: 0, value: null, text: 'n/a', ts: 1 },
    ]);
    db.logMetrics(rid, [{ key: 'loss', step: 0, value: 9, text: null, ts: 30 }]);
    expect(db.latestMetrics(rid)).toEqual({ loss: 0.5, note: 'n/a' });
    expect(db.history(rid, 'loss').map((p) => p.step)).toEqual([0, 1, 2]);
    db.close();
  });

  it('finds runs by id, unique prefix and name', () => {
    const db = TrackingDb.open(join(tmp(), 'tracking.db'));
    db.createRun({ id: 'abc123000000', status: 'finished', name: 'first' });
    db.createRun({ id: 'abc124000000', status: 'finished' });
    expect(db.findRun('abc123').name).toBe('first');
    expect(db.findRun('first').id).toBe('abc123000000');
    expect(() => db.findRun('abc12')).toThrow(/matches more than one run/);
    expect(() => db.findRun('zzz')).toThrow(expect.objectContaining({ code: 'MLO_UNKNOWN_RUN' }));
    db.close();
  });
});

describe('run files', () => {
  it('round-trip a run through its JSON file into another database', () => {
    const a = tmp();
    const loc = storeLocation(undefined, join(a, 'tracking.db'));
    const db = TrackingDb.open(loc.dbFile);
    const { rid, id } = db.createRun({ status: 'running', name: 'shared', gitCommit: 'c'.repeat(40) });
    db.logParams(rid, { lr: '0.1' });
    db.logTags(rid, { who: 'me' });
    db.logMetrics(rid, [
      { key: 'loss', step: 0, value: 1, text: null, ts: 1 },
      { key: 'loss', step: 1, value: 0.5, text: null, ts: 2 },
      { key: 'state', step: 0, value: null, text: 'ok', ts: 2 },
    ]);
    db.updateRun(rid, { status: 'finished', end_time: 3 });
    const file = exportRun(db, loc, rid);
    expect(file).toBe(join(a, 'tracking', 'runs', `${id}.json`));
    const before = runRecord(db, rid);
    db.close();

    const other = TrackingDb.open(join(tmp(), 'tracking.db'));
    expect(importRunFiles(other, loc.runsDir)).toBe(1);
    expect(importRunFiles(other, loc.runsDir)).toBe(0);
    const after = runRecord(other, other.findRun(id).rid);
    expect(after).toEqual(before);
    other.close();
  });
});
