/**
 * The state database (`.mlo/tmp/state.db`, SQLite): maps a path's (inode, mtime, ctime, size) to the
 * hash of its content, so a file that has not changed since mlo last read it is never hashed again.
 * ctime is compared as git compares it: an in-place rewrite of the same size that puts the old mtime
 * back (touch -r, rsync -t) cannot put the ctime back. Keys are workspace paths relative to the repo
 * root, and `obj:<hash>` for cache objects already verified.
 */
import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MloError } from '../../base/errors.js';
import { isRacy } from '../../base/fs.js';

export interface StatKey {
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
  size: number;
}

export interface StateRow {
  path: string;
  ino: number;
  mtime: number;
  ctime: number;
  size: number;
  hash: string;
}

/** `hashedAt` for files mlo wrote itself from verified bytes: never racy. */
export const WRITTEN_BY_MLO = 0;

/**
 * The rows live in a table named for their layout. Schema 1's `hashes` had no ctime: it is dropped
 * (its rows cannot vouch for a file's ctime, so every file is hashed once more), and an older mlo
 * that recreates it never trips over a column it does not know.
 */
const SCHEMA = 2;
const TABLE = 'stat_hashes';
const COLUMNS = 'path, ino, mtime, ctime, size, hash';

function openStateFile(file: string): Database.Database {
  const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  const db = new Sqlite(file, { timeout: 10_000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (path TEXT PRIMARY KEY, ino INTEGER NOT NULL, mtime REAL NOT NULL, ctime REAL NOT NULL, size INTEGER NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID`,
    );
    if ((db.pragma('user_version', { simple: true }) as number) < SCHEMA) {
      db.exec(`DROP TABLE IF EXISTS hashes; PRAGMA user_version = ${SCHEMA}`);
    }
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
    put: Database.Statement<[string, number, number, number, number, string]>;
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
      get: db.prepare(`SELECT ${COLUMNS} FROM ${TABLE} WHERE path = ?`),
      put: db.prepare(
        `INSERT INTO ${TABLE} (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET ino = excluded.ino, mtime = excluded.mtime, ctime = excluded.ctime, size = excluded.size, hash = excluded.hash`,
      ),
      del: db.prepare(`DELETE FROM ${TABLE} WHERE path = ?`),
    };
    return this.conn;
  }

  /** The known hash of `path` if its stat is what it was when hashed, else undefined. */
  lookup(path: string, st: StatKey): string | undefined {
    const row = this.c.get.get(path);
    return row && rowMatches(row, st) ? row.hash : undefined;
  }

  /** All rows whose path starts with `prefix` (one query for a whole tracked directory). */
  lookupPrefix(prefix: string): Map<string, StateRow> {
    if (this.pending.length) this.flush();
    const rows = this.c.db.prepare<[string, string], StateRow>(`SELECT ${COLUMNS} FROM ${TABLE} WHERE path >= ? AND path < ?`).all(prefix, `${prefix}\uffff`);
    return new Map(rows.map((r) => [r.path, r]));
  }

  /**
   * Queues a record; written by flush() in one transaction. `hashedAt` is when the content was read,
   * which guards against racy mtimes and ctimes (see isRacy); pass `WRITTEN_BY_MLO` for a file mlo
   * wrote itself from bytes it had verified (its content is known whatever its times).
   */
  record(path: string, st: StatKey, hash: string, hashedAt: number): void {
    if (hashedAt !== WRITTEN_BY_MLO && isRacy(st, hashedAt)) return;
    this.pending.push({ path, ino: st.ino, mtime: st.mtimeMs, ctime: st.ctimeMs, size: st.size, hash });
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
      for (const r of rows) put.run(r.path, r.ino, r.mtime, r.ctime, r.size, r.hash);
    })();
  }

  close(): void {
    this.flush();
    this.conn?.db.close();
    this.conn = undefined;
  }
}

export function statKey(st: StatKey): StatKey {
  return { ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size };
}

/** The one comparison that decides a row still vouches for a file: inode, mtime, ctime and size. */
export function rowMatches(row: { ino: number; mtime: number; ctime: number; size: number } | undefined, st: StatKey): boolean {
  return row !== undefined && row.ino === st.ino && row.mtime === st.mtimeMs && row.ctime === st.ctimeMs && row.size === st.size;
}

/** Whether two stats of one file show it unchanged (taken before and after reading it). */
export function sameStat(a: StatKey, b: StatKey): boolean {
  return a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.size === b.size;
}
