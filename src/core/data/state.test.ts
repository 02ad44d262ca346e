import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { RACY_MS } from '../../base/fs.js';
import { StateDb, WRITTEN_BY_MLO } from './state.js';

const dirs: string[] = [];
function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlo-state-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const OLD = 1_700_000_000_000;
const st = { ino: 7, mtimeMs: OLD, ctimeMs: OLD + 5, size: 3 };

describe('state database', () => {
  it('trusts a row only while inode, mtime, ctime and size all match', () => {
    const state = new StateDb(tmp());
    state.record('data/a.csv', st, 'h1', OLD + 60_000);
    state.flush();
    expect(state.lookup('data/a.csv', st)).toBe('h1');
    // A same-size rewrite that put the old mtime back: only the ctime moved.
    expect(state.lookup('data/a.csv', { ...st, ctimeMs: st.ctimeMs + 1 })).toBeUndefined();
    expect(state.lookup('data/a.csv', { ...st, ino: 8 })).toBeUndefined();
    expect(state.lookup('data/a.csv', { ...st, mtimeMs: OLD + 1 })).toBeUndefined();
    expect(state.lookup('data/a.csv', { ...st, size: 4 })).toBeUndefined();
    expect(state.lookupPrefix('data/').get('data/a.csv')).toMatchObject({ ino: 7, mtime: OLD, ctime: OLD + 5, size: 3, hash: 'h1' });
    state.close();
  });

  it('does not record a file whose mtime or ctime is within RACY_MS of hashing, unless mlo wrote it', () => {
    const state = new StateDb(tmp());
    const hashedAt = OLD + 60_000;
    state.record('old-mtime-new-ctime', { ...st, ctimeMs: hashedAt - RACY_MS + 1 }, 'h', hashedAt);
    state.record('new-mtime', { ...st, mtimeMs: hashedAt - 1, ctimeMs: hashedAt - 1 }, 'h', hashedAt);
    state.record('written', { ...st, ctimeMs: hashedAt - 1 }, 'h', WRITTEN_BY_MLO);
    state.flush();
    expect(state.lookup('old-mtime-new-ctime', { ...st, ctimeMs: hashedAt - RACY_MS + 1 })).toBeUndefined();
    expect(state.lookup('new-mtime', { ...st, mtimeMs: hashedAt - 1, ctimeMs: hashedAt - 1 })).toBeUndefined();
    expect(state.lookup('written', { ...st, ctimeMs: hashedAt - 1 })).toBe('h');
    state.close();
  });

  it('drops the rows of a database from before ctime was recorded (schema 1): they cannot vouch for a ctime', () => {
    const dir = tmp();
    const Sqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;
    const old = new Sqlite(join(dir, 'state.db'));
    old.exec('CREATE TABLE hashes (path TEXT PRIMARY KEY, ino INTEGER NOT NULL, mtime REAL NOT NULL, size INTEGER NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID');
    old.prepare('INSERT INTO hashes VALUES (?, ?, ?, ?, ?)').run('data/a.csv', st.ino, st.mtimeMs, st.size, 'stale');
    old.close();

    const state = new StateDb(dir);
    expect(state.lookup('data/a.csv', st)).toBeUndefined();
    state.record('data/a.csv', st, 'fresh', WRITTEN_BY_MLO);
    state.close();

    const reopened = new StateDb(dir);
    expect(reopened.lookup('data/a.csv', st)).toBe('fresh');
    reopened.close();
    const check = new Sqlite(join(dir, 'state.db'));
    expect(check.pragma('user_version', { simple: true })).toBe(2);
    expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'hashes'").get()).toBeUndefined();
    check.close();
  });
});
