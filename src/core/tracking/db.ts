/**
 * The tracking database (`.mlo/tracking.db`, better-sqlite3 in WAL mode): experiments, runs, params,
 * metric history and latest values, tags and lineage. One class, because it is a stateful resource: it
 * holds the connection and the prepared statements, and turns SQLite's "database is locked" (after
 * waiting the busy timeout) into MLO_DB_LOCKED naming the file.
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MloError, errnoCode } from '../../base/errors.js';
import { migrate } from './migrations.js';
import type { StepPoint } from './values.js';

import { TRACKING_DB } from '../repo/names.js';

export { TRACKING_DB };

export type RunStatus = 'queued' | 'running' | 'finished' | 'failed' | 'interrupted';

/** Statuses of a run that has ended (the ones a run file records). */
export const ENDED_STATUSES = ['finished', 'failed', 'interrupted'] as const;

export interface RunRow {
  rid: number;
  id: string;
  experiment: string;
  name: string | null;
  status: RunStatus;
  start_time: number | null;
  end_time: number | null;
  git_commit: string | null;
  branch: string | null;
  dirty: number | null;
  command: string | null;
  user: string | null;
  host: string | null;
  source: string | null;
  snapshot: string | null;
  queued_set: string | null;
  base_commit: string | null;
  exported: number;
}

export interface NewRun {
  id?: string;
  experiment?: string;
  name?: string | null;
  status: RunStatus;
  startTime?: number | null;
  gitCommit?: string | null;
  branch?: string | null;
  dirty?: boolean | null;
  command?: string | null;
  user?: string | null;
  host?: string | null;
  source?: string | null;
  queuedSet?: string | null;
  baseCommit?: string | null;
}

export interface LineageEntry {
  direction: 'in' | 'out';
  path: string;
  hash: string;
  stage?: string;
}

export interface MetricPoint {
  key: string;
  step: number;
  value: number | null;
  text: string | null;
  ts: number;
}

export function newRunId(): string {
  return randomBytes(6).toString('hex');
}

export interface OpenOptions {
  /** Busy timeout; default MLO_DB_TIMEOUT seconds, else 10 s. */
  timeoutMs?: number;
  /** Migrate only up to this version (tests of the upgrade path). */
  schemaVersion?: number;
  /** How the file is named in messages (default: its path). */
  displayName?: string;
}

const RUN_COLUMNS = `r.rid, r.id, e.name AS experiment, r.name, r.status, r.start_time, r.end_time, r.git_commit, r.branch, r.dirty,
  r.command, r.user, r.host, r.source, r.snapshot, r.queued_set, r.base_commit, r.exported`;

export class TrackingDb {
  readonly db: Database.Database;
  readonly file: string;
  readonly displayName: string;
  private readonly insertMetric: Database.Statement;
  private readonly upsertLatest: Database.Statement;
  private readonly syncParams: Database.Statement;
  private readonly syncMetrics: Database.Statement;

  private constructor(file: string, options: OpenOptions) {
    this.file = file;
    this.displayName = options.displayName ?? file;
    const timeout = options.timeoutMs ?? Number(process.env.MLO_DB_TIMEOUT ?? 10) * 1000;
    mkdirSync(dirname(file), { recursive: true });
    try {
      this.db = new Database(file, { timeout });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      migrate(this.db, this.displayName, options.schemaVersion);
    } catch (err) {
      this.rethrow(err);
    }
    this.insertMetric = this.db.prepare('INSERT INTO metrics (rid, key, step, value, text, ts) VALUES (?, ?, ?, ?, ?, ?)');
    this.upsertLatest = this.db.prepare(
      `INSERT INTO latest_metrics (rid, key, step, value, text, ts) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (rid, key) DO UPDATE SET step = excluded.step, value = excluded.value, text = excluded.text, ts = excluded.ts
       WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step AND excluded.ts >= latest_metrics.ts)`,
    );
    const schema = this.db.pragma('user_version', { simple: true }) as number;
    // Before migration 3 (only when a test opens an old version) there are no summary columns.
    this.syncParams = this.db.prepare(
      schema >= 3
        ? "UPDATE runs SET params_json = (SELECT COALESCE(json_group_object(key, value), '{}') FROM params WHERE rid = :rid) WHERE rid = :rid"
        : 'SELECT :rid',
    );
    this.syncMetrics = this.db.prepare(
      schema >= 3
        ? "UPDATE runs SET metrics_json = (SELECT COALESCE(json_group_object(key, COALESCE(value, text, 'null')), '{}') FROM latest_metrics WHERE rid = :rid) WHERE rid = :rid"
        : 'SELECT :rid',
    );
  }

  static open(file: string, options: OpenOptions = {}): TrackingDb {
    return new TrackingDb(file, options);
  }

  static at(mloDir: string, options: OpenOptions = {}): TrackingDb {
    return new TrackingDb(join(mloDir, TRACKING_DB), { displayName: '.mlo/tracking.db', ...options });
  }

  close(): void {
    if (this.db?.open) this.db.close();
  }

  /** Runs `fn` in one write transaction, mapping a lock that outlived the busy timeout to MLO_DB_LOCKED. */
  write<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).immediate();
    } catch (err) {
      this.rethrow(err);
    }
  }

  read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.rethrow(err);
    }
  }

  private rethrow(err: unknown): never {
    const code = errnoCode(err);
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code?.startsWith('SQLITE_BUSY')) {
      throw new MloError('MLO_DB_LOCKED', `${this.displayName} is locked by another process (waited for it to finish)`, {
        cause: err,
        hint: 'wait for the other mlo command to finish, or raise the wait with MLO_DB_TIMEOUT=<seconds>',
      });
    }
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
      throw new MloError('MLO_DB_CORRUPT', `${this.displayName} is not a readable SQLite database`, {
        cause: err,
        hint: 'move it aside; committed run records in .mlo/tracking/runs/ are imported again by the next mlo exp show',
      });
    }
    if (code === 'SQLITE_CANTOPEN') {
      // A cloned repository may commit a folder (or anything else) at .mlo/tracking.db.
      const isDir = statSync(this.file, { throwIfNoEntry: false })?.isDirectory() ?? false;
      throw new MloError(
        'MLO_DB_CANT_OPEN',
        `${this.displayName}${isDir ? ' is a folder, not a SQLite database file' : ' cannot be opened as a SQLite database'}`,
        {
          cause: err,
          hint: `move ${this.displayName} aside (mlo does not delete it); committed run records in .mlo/tracking/runs/ are imported again by the next mlo exp show`,
        },
      );
    }
    throw err;
  }

  private experimentId(name: string): number {
    const row = this.db.prepare('SELECT id FROM experiments WHERE name = ?').get(name) as { id: number } | undefined;
    if (row) return row.id;
    return Number(this.db.prepare('INSERT INTO experiments (name, created) VALUES (?, ?)').run(name, Date.now()).lastInsertRowid);
  }

  createRun(run: NewRun): { rid: number; id: string } {
    const id = run.id ?? newRunId();
    return this.write(() => {
      const exp = this.experimentId(run.experiment ?? 'default');
      const info = this.db
        .prepare(
          `INSERT INTO runs (id, experiment, name, status, start_time, git_commit, branch, dirty, command, user, host, source, queued_set, base_commit)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          id,
          exp,
          run.name ?? null,
          run.status,
          run.startTime ?? null,
          run.gitCommit ?? null,
          run.branch ?? null,
          run.dirty == null ? null : run.dirty ? 1 : 0,
          run.command ?? null,
          run.user ?? null,
          run.host ?? null,
          run.source ?? null,
          run.queuedSet ?? null,
          run.baseCommit ?? null,
        );
      return { rid: Number(info.lastInsertRowid), id };
    });
  }

  updateRun(
    rid: number,
    fields: Partial<{
      status: RunStatus;
      start_time: number;
      end_time: number;
      git_commit: string | null;
      branch: string | null;
      dirty: number | null;
      command: string | null;
      user: string | null;
      host: string | null;
      snapshot: string;
      exported: number;
      name: string | null;
    }>,
  ): void {
    const keys = Object.keys(fields);
    if (keys.length === 0) return;
    const sql = `UPDATE runs SET ${keys.map((k) => `${k} = ?`).join(', ')} WHERE rid = ?`;
    this.write(() => this.db.prepare(sql).run(...keys.map((k) => (fields as Record<string, unknown>)[k]), rid));
  }

  logParams(rid: number, params: Record<string, string>): void {
    const stmt = this.db.prepare('INSERT INTO params (rid, key, value) VALUES (?, ?, ?) ON CONFLICT (rid, key) DO UPDATE SET value = excluded.value');
    this.write(() => {
      for (const [k, v] of Object.entries(params)) stmt.run(rid, k, v);
      this.syncParams.run({ rid });
    });
  }

  logTags(rid: number, tags: Record<string, string>): void {
    const stmt = this.db.prepare('INSERT INTO tags (rid, key, value) VALUES (?, ?, ?) ON CONFLICT (rid, key) DO UPDATE SET value = excluded.value');
    this.write(() => {
      for (const [k, v] of Object.entries(tags)) stmt.run(rid, k, v);
    });
  }

  /**
   * Appends metric points in one transaction. The latest value per key is worked out here and written
   * once per key, not once per point: an upsert per point would halve the ingest rate.
   */
  logMetrics(rid: number, points: readonly (MetricPoint | StepPoint)[]): number {
    if (points.length === 0) return 0;
    const latest = new Map<string, MetricPoint>();
    const insert = this.insertMetric;
    this.write(() => {
      for (let i = 0; i < points.length; i++) {
        const p = points[i];
        insert.run(rid, p.key, p.step, p.value, p.text, p.ts);
        const cur = latest.get(p.key);
        if (!cur || p.step > cur.step || (p.step === cur.step && p.ts >= cur.ts)) latest.set(p.key, p);
      }
      for (const p of latest.values()) this.upsertLatest.run(rid, p.key, p.step, p.value, p.text, p.ts);
      this.syncMetrics.run({ rid });
    });
    return points.length;
  }

  /** Moves every point of `from` to the key `to` (which must be unused in the run). */
  renameMetric(rid: number, from: string, to: string): void {
    this.write(() => {
      this.db.prepare('UPDATE metrics SET key = ? WHERE rid = ? AND key = ?').run(to, rid, from);
      this.db.prepare('UPDATE latest_metrics SET key = ? WHERE rid = ? AND key = ?').run(to, rid, from);
      this.syncMetrics.run({ rid });
    });
  }

  logLineage(rid: number, entries: LineageEntry[]): void {
    const stmt = this.db.prepare('INSERT OR REPLACE INTO lineage (rid, direction, path, hash, stage) VALUES (?, ?, ?, ?, ?)');
    this.write(() => {
      for (const e of entries) stmt.run(rid, e.direction, e.path, e.hash, e.stage ?? '');
    });
  }

  getRun(rid: number): RunRow {
    return this.read(() => this.db.prepare(`SELECT ${RUN_COLUMNS} FROM runs r JOIN experiments e ON e.id = r.experiment WHERE r.rid = ?`).get(rid) as RunRow);
  }

  /** A run by full id, unique id prefix, or name (the latest run of that name). */
  findRun(ref: string): RunRow {
    return this.read(() => {
      const base = `SELECT ${RUN_COLUMNS} FROM runs r JOIN experiments e ON e.id = r.experiment`;
      const exact = this.db.prepare(`${base} WHERE r.id = ?`).get(ref) as RunRow | undefined;
      if (exact) return exact;
      if (/^[0-9a-f]{4,}$/.test(ref)) {
        const prefixed = this.db.prepare(`${base} WHERE r.id >= ? AND r.id < ? LIMIT 2`).all(ref, `${ref}g`) as RunRow[];
        if (prefixed.length === 1) return prefixed[0];
        if (prefixed.length > 1)
          throw new MloError('MLO_AMBIGUOUS_RUN', `run id prefix '${ref}' matches more than one run`, { hint: 'give more characters of the id' });
      }
      const named = this.db.prepare(`${base} WHERE r.name = ? ORDER BY r.start_time DESC, r.rid DESC LIMIT 1`).get(ref) as RunRow | undefined;
      if (named) return named;
      throw new MloError('MLO_UNKNOWN_RUN', `no run '${ref}' (by id, id prefix or name)`, { hint: 'list runs with `mlo exp show`' });
    });
  }

  listRuns(filter: { status?: RunStatus[]; limit?: number } = {}): RunRow[] {
    return this.read(() => {
      const where = filter.status?.length ? `WHERE r.status IN (${filter.status.map(() => '?').join(', ')})` : '';
      const limit = filter.limit ? `LIMIT ${Math.trunc(filter.limit)}` : '';
      return this.db
        .prepare(
          `SELECT ${RUN_COLUMNS} FROM runs r JOIN experiments e ON e.id = r.experiment ${where} ORDER BY COALESCE(r.start_time, 0) DESC, r.rid DESC ${limit}`,
        )
        .all(...(filter.status ?? [])) as RunRow[];
    });
  }

  params(rid: number): Record<string, string> {
    const rows = this.read(() => this.db.prepare('SELECT key, value FROM params WHERE rid = ? ORDER BY key').all(rid) as { key: string; value: string }[]);
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  tags(rid: number): Record<string, string> {
    const rows = this.read(() => this.db.prepare('SELECT key, value FROM tags WHERE rid = ? ORDER BY key').all(rid) as { key: string; value: string }[]);
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  latestMetrics(rid: number): Record<string, number | string> {
    const rows = this.read(
      () =>
        this.db.prepare('SELECT key, value, text FROM latest_metrics WHERE rid = ? ORDER BY key').all(rid) as {
          key: string;
          value: number | null;
          text: string | null;
        }[],
    );
    return Object.fromEntries(rows.map((r) => [r.key, r.value ?? r.text ?? 'null']));
  }

  history(rid: number, key?: string): MetricPoint[] {
    return this.read(() =>
      key === undefined
        ? (this.db.prepare('SELECT key, step, value, text, ts FROM metrics WHERE rid = ? ORDER BY key, step, ts').all(rid) as MetricPoint[])
        : (this.db.prepare('SELECT key, step, value, text, ts FROM metrics WHERE rid = ? AND key = ? ORDER BY step, ts').all(rid, key) as MetricPoint[]),
    );
  }

  /** Keys that have more than one point (a step series), per run. */
  seriesKeys(rid: number): string[] {
    return this.read(() =>
      // Per key, one index probe for a second point, instead of counting every point: a run with a
      // 1,000,000-point series answers in a millisecond rather than half a second.
      (
        this.db
          .prepare(
            'SELECT l.key FROM latest_metrics l WHERE l.rid = ? AND EXISTS (SELECT 1 FROM metrics m WHERE m.rid = l.rid AND m.key = l.key LIMIT 1 OFFSET 1) ORDER BY l.key',
          )
          .all(rid) as { key: string }[]
      ).map((r) => r.key),
    );
  }

  lineage(rid: number): LineageEntry[] {
    return this.read(
      () => this.db.prepare('SELECT direction, path, hash, stage FROM lineage WHERE rid = ? ORDER BY direction, stage, path').all(rid) as LineageEntry[],
    );
  }

  removeRuns(rids: number[]): void {
    const stmt = this.db.prepare('DELETE FROM runs WHERE rid = ?');
    const metrics = this.db.prepare('DELETE FROM metrics WHERE rid = ?');
    this.write(() => {
      for (const rid of rids) {
        metrics.run(rid);
        stmt.run(rid);
      }
    });
  }

  runIds(): Set<string> {
    return new Set(this.read(() => this.db.prepare('SELECT id FROM runs').pluck().all() as string[]));
  }
}
