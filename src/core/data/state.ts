/**
 * The state database (`.mlo/tmp/state.db`, SQLite): maps a path's (inode, mtime, size) to the hash of
 * its content, so a file that has not changed since mlo last read it is never hashed again. Keys are
 * workspace paths relative to the repo root, and `obj:<hash>` for cache objects already verified.
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MloError } from '../../base/errors.js';
import { RACY_MS } from '../../base/fs.js';

export interface StatKey {
  ino: number;
  mtimeMs: number;
  size: number;
}

export interface StateRow {
  path: string;
  ino: number;
  mtime: number;
  size: number;
  hash: string;
}

/** `hashedAt` for files mlo wrote itself from verified bytes: never racy. */
export const WRITTEN_BY_MLO = 0;

function openStateFile(file: string): Database.Database {
  const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  const db = new Sqlite(file, { timeout: 10_000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(
      'CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, ino INTEGER NOT NULL, mtime REAL NOT NULL, size INTEGER NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID',
    );
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export class StateDb {
  private readonly tmpDir: string;
  private conn?: {
    db: Database.Database;
    get: Database.Statement<[string], StateRow>;
    put: Database.Statement<[string, number, number, number, string]>;
    del: Database.Statement<[string]>;
  };
  private pending: StateRow[] = [];

  constructor(tmpDir: string) {
    this.tmpDir = tmpDir;
  }

  /**
   * Opened on first use: a status whose directories all match their snapshots never needs it, and
   * loading SQLite plus opening the file costs ~10 ms of start-up.
   */
  private get c() {
    if (this.conn) return this.conn;
    mkdirSync(this.tmpDir, { recursive: true });
    const file = join(this.tmpDir, 'state.db');
    let db: Database.Database;
    try {
      db = openStateFile(file);
    } catch (err) {
      // The database only caches hashes: a damaged one (a crash of the disk, not of mlo: SQLite's
      // journal covers those) is rebuilt, which costs re-hashing, never data.
      const code = (err as { code?: string }).code;
      if (code !== 'SQLITE_NOTADB' && code !== 'SQLITE_CORRUPT') {
        throw new MloError('MLO_STATE_DB', `${file}: ${(err as Error).message}`, {
          hint: 'it only caches hashes: delete it and run the command again',
          cause: err,
        });
      }
      for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      db = openStateFile(file);
    }
    this.conn = {
      db,
      get: db.prepare('SELECT path, ino, mtime, size, hash FROM hashes WHERE path = ?'),
      put: db.prepare(
        'INSERT INTO hashes (path, ino, mtime, size, hash) VALUES (?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET ino = excluded.ino, mtime = excluded.mtime, size = excluded.size, hash = excluded.hash',
      ),
      del: db.prepare('DELETE FROM hashes WHERE path = ?'),
    };
    return this.conn;
  }

  /** The known hash of `path` if its stat is what it was when hashed, else undefined. */
  lookup(path: string, st: StatKey): string | undefined {
    const row = this.c.get.get(path);
    return row && row.ino === st.ino && row.mtime === st.mtimeMs && row.size === st.size ? row.hash : undefined;
  }

  /** All rows whose path starts with `prefix` (one query for a whole tracked directory). */
  lookupPrefix(prefix: string): Map<string, StateRow> {
    if (this.pending.length) this.flush();
    const rows = this.c.db
      .prepare<[string, string], StateRow>('SELECT path, ino, mtime, size, hash FROM hashes WHERE path >= ? AND path < ?')
      .all(prefix, `${prefix}\uffff`);
    return new Map(rows.map((r) => [r.path, r]));
  }

  /**
   * Queues a record; written by flush() in one transaction. `hashedAt` is when the content was read,
   * which guards against racy mtimes; pass `WRITTEN_BY_MLO` for a file mlo wrote itself from bytes it
   * had verified (its content is known whatever its mtime).
   */
  record(path: string, st: StatKey, hash: string, hashedAt: number): void {
    if (hashedAt !== WRITTEN_BY_MLO && hashedAt - st.mtimeMs < RACY_MS) return;
    this.pending.push({ path, ino: st.ino, mtime: st.mtimeMs, size: st.size, hash });
    if (this.pending.length >= 10_000) this.flush();
  }

  forget(path: string): void {
    this.c.del.run(path);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    const { db, put } = this.c;
    db.transaction(() => {
      for (const r of rows) put.run(r.path, r.ino, r.mtime, r.size, r.hash);
    })();
  }

  close(): void {
    this.flush();
    this.conn?.db.close();
    this.conn = undefined;
  }
}

export function statKey(st: StatKey): StatKey {
  return { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
}

export function rowMatches(row: { ino: number; mtime: number; size: number } | undefined, st: StatKey): boolean {
  return row !== undefined && row.ino === st.ino && row.mtime === st.mtimeMs && row.size === st.size;
}
