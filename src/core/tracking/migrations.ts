/**
 * Versioned schema of `.mlo/tracking.db`, recorded in `PRAGMA user_version`. A migration is appended,
 * never edited: an older database is upgraded step by step inside one immediate transaction (so two
 * processes opening an old database at once cannot both migrate it), and a database whose version is
 * newer than this mlo knows is refused instead of guessed at.
 */
import type Database from 'better-sqlite3';
import { MloError } from '../../base/errors.js';

export const MIGRATIONS: readonly string[] = [
  // 1: runs with params, metric history, latest metrics and tags.
  `
  CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL
  );
  CREATE TABLE runs (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    experiment INTEGER NOT NULL REFERENCES experiments(id),
    name TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'failed')),
    start_time INTEGER,
    end_time INTEGER,
    git_commit TEXT,
    branch TEXT,
    dirty INTEGER,
    command TEXT,
    user TEXT,
    host TEXT,
    source TEXT
  );
  CREATE TABLE params (
    rid INTEGER NOT NULL REFERENCES runs(rid) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (rid, key)
  ) WITHOUT ROWID;
  CREATE TABLE tags (
    rid INTEGER NOT NULL REFERENCES runs(rid) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (rid, key)
  ) WITHOUT ROWID;
  -- Full history, append-only. No primary key over every column (MLflow's made its index 11 GiB per
  -- 100 M rows, mlflow#12813); one (rid, key, step) index serves history and plots.
  CREATE TABLE metrics (
    rid INTEGER NOT NULL REFERENCES runs(rid) ON DELETE CASCADE,
    key TEXT NOT NULL,
    step INTEGER NOT NULL,
    value REAL,
    text TEXT,
    ts INTEGER NOT NULL
  );
  CREATE INDEX metrics_rid_key_step ON metrics (rid, key, step);
  -- One row per (run, key): what exp show reads, so it never scans the history.
  CREATE TABLE latest_metrics (
    rid INTEGER NOT NULL REFERENCES runs(rid) ON DELETE CASCADE,
    key TEXT NOT NULL,
    step INTEGER NOT NULL,
    value REAL,
    text TEXT,
    ts INTEGER NOT NULL,
    PRIMARY KEY (rid, key)
  ) WITHOUT ROWID;
  INSERT INTO experiments (name, created) VALUES ('default', CAST(strftime('%s','now') AS INTEGER) * 1000);
  `,
  // 2: lineage (hashes of what a run read and wrote), the snapshot needed to apply a run back into the
  // workspace, and the queue.
  `
  CREATE TABLE lineage (
    rid INTEGER NOT NULL REFERENCES runs(rid) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    path TEXT NOT NULL,
    hash TEXT NOT NULL,
    stage TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (rid, direction, path, stage)
  ) WITHOUT ROWID;
  CREATE INDEX lineage_hash ON lineage (hash);
  ALTER TABLE runs ADD COLUMN snapshot TEXT;
  ALTER TABLE runs ADD COLUMN queued_set TEXT;
  ALTER TABLE runs ADD COLUMN base_commit TEXT;
  ALTER TABLE runs ADD COLUMN exported INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX runs_status ON runs (status);
  `,
  // 3: each run's params and latest metrics as one JSON object, kept current on every write, so
  // `exp show` reads one row per run instead of pivoting 200,000 rows (10,000 runs x 20 metrics).
  `
  ALTER TABLE runs ADD COLUMN params_json TEXT NOT NULL DEFAULT '{}';
  ALTER TABLE runs ADD COLUMN metrics_json TEXT NOT NULL DEFAULT '{}';
  UPDATE runs SET
    params_json = COALESCE((SELECT json_group_object(key, value) FROM params p WHERE p.rid = runs.rid), '{}'),
    metrics_json = COALESCE((SELECT json_group_object(key, COALESCE(value, text, 'null')) FROM latest_metrics m WHERE m.rid = runs.rid), '{}');
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE INDEX runs_start ON runs (start_time, rid);
  CREATE INDEX latest_metrics_key_value ON latest_metrics (key, value);
  CREATE INDEX params_key ON params (key);
  `,
  // 4: status 'interrupted' (Ctrl-C; MLflow's KILLED). SQLite cannot change a CHECK constraint in
  // place, so the runs table is rebuilt (migrate() turns foreign keys off around it: with them on,
  // dropping the old table would cascade into params, metrics, tags and lineage).
  `
  CREATE TABLE runs_v4 (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    experiment INTEGER NOT NULL REFERENCES experiments(id),
    name TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'finished', 'failed', 'interrupted')),
    start_time INTEGER,
    end_time INTEGER,
    git_commit TEXT,
    branch TEXT,
    dirty INTEGER,
    command TEXT,
    user TEXT,
    host TEXT,
    source TEXT,
    snapshot TEXT,
    queued_set TEXT,
    base_commit TEXT,
    exported INTEGER NOT NULL DEFAULT 0,
    params_json TEXT NOT NULL DEFAULT '{}',
    metrics_json TEXT NOT NULL DEFAULT '{}'
  );
  INSERT INTO runs_v4 (rid, id, experiment, name, status, start_time, end_time, git_commit, branch, dirty, command, user, host, source,
    snapshot, queued_set, base_commit, exported, params_json, metrics_json)
  SELECT rid, id, experiment, name, status, start_time, end_time, git_commit, branch, dirty, command, user, host, source,
    snapshot, queued_set, base_commit, exported, params_json, metrics_json FROM runs;
  DROP TABLE runs;
  ALTER TABLE runs_v4 RENAME TO runs;
  CREATE INDEX runs_status ON runs (status);
  CREATE INDEX runs_start ON runs (start_time, rid);
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings `db` to `target` (default: the latest) version; returns the version it found. */
export function migrate(db: Database.Database, file: string, target = SCHEMA_VERSION): number {
  const found = db.pragma('user_version', { simple: true }) as number;
  if (found > SCHEMA_VERSION) {
    throw new MloError('MLO_DB_TOO_NEW', `${file} was written by a newer mlo (schema ${found}; this mlo reads up to ${SCHEMA_VERSION})`, {
      hint: 'upgrade mlo (npm install -g mlo@latest); the database was left untouched',
    });
  }
  if (found >= target) return found;
  // Foreign keys can only be switched outside a transaction; migration 4 rebuilds a parent table.
  const fk = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      // Re-read inside the (immediate) transaction: another process may have migrated meanwhile.
      const now = db.pragma('user_version', { simple: true }) as number;
      for (let v = now; v < target; v++) db.exec(MIGRATIONS[v]);
      if ((db.pragma('foreign_key_check') as unknown[]).length > 0)
        throw new MloError('MLO_DB_CORRUPT', `${file}: a migration found broken references between tables`, {
          hint: 'move the database aside; run files in .mlo/tracking/runs/ are imported again',
        });
      db.pragma(`user_version = ${target}`);
    }).immediate();
  } finally {
    db.pragma(`foreign_keys = ${fk ? 'ON' : 'OFF'}`);
  }
  return found;
}
