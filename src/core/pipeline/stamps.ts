/**
 * Hashes of the single files a pipeline reads and writes (file deps and outs) by (inode, mtime, ctime, size),
 * in one small JSON file, `.mlo/tmp/pipeline-files.json`. A no-op `mlo run` answers those files from
 * here instead of the state database: loading SQLite and opening the database cost ~5 ms, and 1,000
 * outs looked up one by one ~15 ms. The trust rule is the state database's: a hash is recorded only
 * when the file's mtime and ctime are RACY_MS older than the moment its stat was taken (isRacy). Losing
 * the file only costs speed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../../base/errors.js';
import { writeFileAtomic } from '../../base/fs.js';
import { isRacy } from '../../base/fs.js';
import type { StatKey } from '../data/state.js';

/** The stat fields compared; ctime too (as git does), so an in-place rewrite that restores the mtime is seen. */
export type Stamp = StatKey;

type Row = [ino: number, mtimeMs: number, ctimeMs: number, size: number, hash: string];

const VERSION = 1;
/** Beyond this many rows, a save keeps only the files this command looked at. */
const MAX_ROWS = 50_000;

export class FileStamps {
  private readonly file: string;
  private rows: Record<string, Row> = {};
  private readonly used = new Set<string>();
  private dirty = false;

  constructor(tmpDir: string) {
    this.file = join(tmpDir, 'pipeline-files.json');
    try {
      const doc = JSON.parse(readFileSync(this.file, 'utf8')) as { v?: number; files?: Record<string, Row> };
      if (doc.v === VERSION && doc.files && typeof doc.files === 'object') this.rows = doc.files;
    } catch (err) {
      // Missing or torn: start empty.
      if (errnoCode(err) !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
    }
  }

  /** The hash of `rel` if it was recorded with exactly this stat. */
  lookup(rel: string, st: Stamp): string | undefined {
    this.used.add(rel);
    const row = this.rows[rel];
    return Array.isArray(row) && row[0] === st.ino && row[1] === st.mtimeMs && row[2] === st.ctimeMs && row[3] === st.size ? row[4] : undefined;
  }

  /**
   * Records that `rel`, with stat `st` (taken at `statAt`, a Date.now()), holds `hash`. The caller must
   * have checked that the stat did not change while the hash was computed.
   */
  record(rel: string, st: Stamp, hash: string, statAt: number): void {
    this.used.add(rel);
    if (isRacy(st, statAt)) {
      if (this.rows[rel]) {
        delete this.rows[rel];
        this.dirty = true;
      }
      return;
    }
    this.rows[rel] = [st.ino, st.mtimeMs, st.ctimeMs, st.size, hash];
    this.dirty = true;
  }

  /** Writes the file if anything was recorded. */
  save(): void {
    if (!this.dirty) return;
    if (Object.keys(this.rows).length > MAX_ROWS) {
      this.rows = Object.fromEntries(Object.entries(this.rows).filter(([rel]) => this.used.has(rel)));
    }
    try {
      writeFileAtomic(this.file, JSON.stringify({ v: VERSION, files: this.rows }), { fsync: false });
      this.dirty = false;
    } catch {
      // Read-only .mlo/tmp: only speed is lost.
    }
  }
}
