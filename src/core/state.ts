/**
 * The state database (`.mlo/tmp/state.db`, SQLite): maps a path's (inode, mtime, size) to the hash of
 * its content, so a file that has not changed since mlo last read it is never hashed again. Keys are
 * workspace paths relative to the repo root, and `obj:<hash>` for cache objects already verified.
 */
import Database from 'better-sqlite3';
import type { Stats } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface StatKey {
  ino: number;
  mtimeMs: number;
  size: number;
}

interface Row {
  path: string;
  ino: number;
  mtime: number;
  size: number;
  hash: string;
}

/**
 * Linux stamps mtime from a coarse clock (a few ms), so a file rewritten within that tick keeps its
 * mtime: a "racily clean" entry, as git calls it. Entries whose mtime is this close to the moment they
 * were hashed are not trusted later and get hashed again.
 */
export const RACY_MS = 50;

/** `hashedAt` for files mlo wrote itself from verified bytes: never racy. */
export const WRITTEN_BY_MLO = 0;

export class StateDb {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string], Row>;
  private readonly putStmt: Database.Statement<[string, number, number, number, string]>;
  private readonly delStmt: Database.Statement<[string]>;
  private pending: Row[] = [];

  constructor(tmpDir: string) {
    mkdirSync(tmpDir, { recursive: true });
    this.db = new Database(join(tmpDir, 'state.db'), { timeout: 10_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, ino INTEGER NOT NULL, mtime REAL NOT NULL, size INTEGER NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID',
    );
    this.getStmt = this.db.prepare('SELECT path, ino, mtime, size, hash FROM hashes WHERE path = ?');
    this.putStmt = this.db.prepare(
      'INSERT INTO hashes (path, ino, mtime, size, hash) VALUES (?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET ino = excluded.ino, mtime = excluded.mtime, size = excluded.size, hash = excluded.hash',
    );
    this.delStmt = this.db.prepare('DELETE FROM hashes WHERE path = ?');
  }

  /** The known hash of `path` if its stat is what it was when hashed, else undefined. */
  lookup(path: string, st: StatKey): string | undefined {
    const row = this.getStmt.get(path);
    return row && row.ino === st.ino && row.mtime === st.mtimeMs && row.size === st.size ? row.hash : undefined;
  }

  /** All rows whose path starts with `prefix` (one query for a whole tracked directory). */
  lookupPrefix(prefix: string): Map<string, Row> {
    if (this.pending.length) this.flush();
    const rows = this.db
      .prepare<[string, string], Row>('SELECT path, ino, mtime, size, hash FROM hashes WHERE path >= ? AND path < ?')
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
    this.delStmt.run(path);
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const r of rows) this.putStmt.run(r.path, r.ino, r.mtime, r.size, r.hash);
    })();
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}

export function statKey(st: Stats): StatKey {
  return { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size };
}

export function rowMatches(row: { ino: number; mtime: number; size: number } | undefined, st: StatKey): boolean {
  return row !== undefined && row.ino === st.ino && row.mtime === st.mtimeMs && row.size === st.size;
}
