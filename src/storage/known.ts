/**
 * What a remote is known to hold: a SQLite file per remote (`.mlo/tmp/remote-index/<name>.db`) of
 * object keys with their sizes. Keys are added only after a confirmed upload, listing or HEAD, so a
 * missing or stale-by-omission index costs requests, never correctness; losing it is always safe.
 * It can be wrong when objects vanish behind mlo's back (`mlo gc --cloud` on another machine, a folder
 * emptied by hand, a bucket lifecycle rule): `mlo status --cloud` and `mlo push --verify` always ask
 * the remote and drop what it no longer holds, and an entry older than its trusted age (`checked`,
 * refreshed by every confirmation) is asked about again, so a stale index heals on its own.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export class RemoteIndex {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string], { size: number; checked: number }>;
  private readonly putStmt: Database.Statement<[string, number, number]>;
  private readonly delStmt: Database.Statement<[string]>;
  private pending: [string, number, number][] = [];

  /** `identity` (the remote's URL) invalidates the index when the remote is pointed elsewhere. */
  constructor(file: string, identity: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file, { timeout: 10_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)');
    this.db.exec('CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, size INTEGER NOT NULL, checked INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID');
    // Indexes written before `checked` existed: their entries count as never checked (asked once more).
    const columns = this.db.prepare<[], { name: string }>('PRAGMA table_info(objects)').all();
    if (!columns.some((c) => c.name === 'checked')) this.db.exec('ALTER TABLE objects ADD COLUMN checked INTEGER NOT NULL DEFAULT 0');
    const row = this.db.prepare<[], { v: string }>("SELECT v FROM meta WHERE k = 'identity'").get();
    if (row?.v !== identity) {
      this.db.exec('DELETE FROM objects');
      this.db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('identity', ?)").run(identity);
    }
    this.getStmt = this.db.prepare('SELECT size, checked FROM objects WHERE key = ?');
    this.putStmt = this.db.prepare('INSERT OR REPLACE INTO objects (key, size, checked) VALUES (?, ?, ?)');
    this.delStmt = this.db.prepare('DELETE FROM objects WHERE key = ?');
  }

  /**
   * The size recorded for `key`, or undefined when the remote is not known to hold it or (with
   * `maxAgeMs`) was last confirmed to hold it longer ago than that.
   */
  size(key: string, maxAgeMs?: number): number | undefined {
    const row = this.getStmt.get(key);
    if (!row) return undefined;
    if (maxAgeMs !== undefined && row.checked < Date.now() - maxAgeMs) return undefined;
    return row.size;
  }

  /** Records that the remote holds `key` (confirmed just now). */
  add(key: string, size: number): void {
    this.pending.push([key, size, Date.now()]);
    if (this.pending.length >= 2000) this.flush();
  }

  remove(keys: Iterable<string>): void {
    this.flush();
    this.db.transaction(() => {
      for (const k of keys) this.delStmt.run(k);
    })();
  }

  flush(): void {
    if (!this.pending.length) return;
    const rows = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const [k, s, t] of rows) this.putStmt.run(k, s, t);
    })();
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
