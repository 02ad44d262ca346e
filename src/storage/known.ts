/**
 * What a remote is known to hold: a SQLite file per remote (`.mlo/tmp/remote-index/<name>.db`) of
 * object keys with their sizes. Keys are added only after a confirmed upload, listing or HEAD, so a
 * missing or stale-by-omission index costs requests, never correctness; losing it is always safe.
 * The one way it can be wrong is another machine deleting objects (`mlo gc --cloud`); `mlo status
 * --cloud` always asks the remote and drops what it no longer holds.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export class RemoteIndex {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string], { size: number }>;
  private readonly putStmt: Database.Statement<[string, number]>;
  private readonly delStmt: Database.Statement<[string]>;
  private pending: [string, number][] = [];

  /** `identity` (the remote's URL) invalidates the index when the remote is pointed elsewhere. */
  constructor(file: string, identity: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file, { timeout: 10_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)');
    this.db.exec('CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID');
    const row = this.db.prepare<[], { v: string }>("SELECT v FROM meta WHERE k = 'identity'").get();
    if (row?.v !== identity) {
      this.db.exec('DELETE FROM objects');
      this.db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES ('identity', ?)").run(identity);
    }
    this.getStmt = this.db.prepare('SELECT size FROM objects WHERE key = ?');
    this.putStmt = this.db.prepare('INSERT OR REPLACE INTO objects (key, size) VALUES (?, ?)');
    this.delStmt = this.db.prepare('DELETE FROM objects WHERE key = ?');
  }

  /** The size recorded for `key`, or undefined when the remote is not known to hold it. */
  size(key: string): number | undefined {
    return this.getStmt.get(key)?.size;
  }

  add(key: string, size: number): void {
    this.pending.push([key, size]);
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
      for (const [k, s] of rows) this.putStmt.run(k, s);
    })();
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
