/**
 * Where tracking data lives, and how it is shared. The SQLite database is a local, git-ignored index;
 * the shared record is one JSON file per finished run under `.mlo/tracking/runs/<run-id>.json`,
 * committed to git. Files are only ever added (one per run, named by its random id), so two people's
 * runs merge without conflicts; opening the store imports files it has not seen (after `git pull`).
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { MloError } from '../../base/errors.js';
import { writeFileAtomic } from '../../base/fs.js';
import type { Repo } from '../repo/repo.js';
import { boundText } from './values.js';
import { isMloDirPath, isSafeRelPath } from '../data/pointer/paths.js';
import { ENDED_STATUSES, TRACKING_DB, TrackingDb, type LineageEntry, type OpenOptions } from './db.js';

export const RUNS_DIR = 'tracking/runs';

export interface StoreLocation {
  dbFile: string;
  /** Folder of the committed run files. */
  runsDir: string;
}

/**
 * The store of `repo`, or the one named by `dbFile` (queue workers run in a temporary worktree but
 * record into the main repository's store; their stages get it as $MLO_TRACKING_DB).
 */
export function storeLocation(repo: Repo | undefined, dbFile?: string): StoreLocation {
  if (dbFile) return { dbFile, runsDir: join(dirname(dbFile), RUNS_DIR) };
  if (!repo) throw new MloError('MLO_NOT_A_REPO', 'no mlo repository here and no $MLO_TRACKING_DB', { hint: 'run inside an mlo repository (mlo init)' });
  return { dbFile: join(repo.mloDir, TRACKING_DB), runsDir: join(repo.mloDir, RUNS_DIR) };
}

/** Opens the database; with `sync`, first imports run files it has not seen. */
export function openStore(loc: StoreLocation, options: OpenOptions & { sync?: boolean } = {}): TrackingDb {
  const db = TrackingDb.open(loc.dbFile, { displayName: displayName(loc.dbFile), ...options });
  if (options.sync) {
    try {
      importRunFiles(db, loc.runsDir);
    } catch (err) {
      db.close();
      throw err;
    }
  }
  return db;
}

function displayName(dbFile: string): string {
  return dbFile.endsWith(`/.mlo/${TRACKING_DB}`) ? `.mlo/${TRACKING_DB}` : dbFile;
}

const metricSeries = z.object({ step: z.array(z.number()), value: z.array(z.union([z.number(), z.string(), z.null()])), ts: z.array(z.number()) });

/**
 * A file `exp apply` and `exp branch` write back: a run record comes from a clone or a shared remote,
 * so its keys must stay inside the repository and out of `.mlo/` (the store and config live there).
 */
const snapshotFile = z.string().refine((p) => isSafeRelPath(p) && !isMloDirPath(p), {
  message: "must be a relative path inside the repository (no '..', no leading '/', no backslashes, not in .git or .mlo)",
});

/** What a run records of its workspace for `exp apply` (workspace.ts takes it). */
export const snapshotSchema = z.object({
  /** Params files' text, by path relative to the root. */
  params: z.record(snapshotFile, z.string()),
  /** mlo.lock's text, when there is one. */
  lock: z.string().optional(),
  /** Declared metrics files' text (those kept in git are not in the cache for exp apply to restore). */
  metrics: z.record(snapshotFile, z.string()).optional(),
});

export type Snapshot = z.infer<typeof snapshotSchema>;

export const runFileSchema = z.object({
  schema: z.literal(1),
  id: z.string().regex(/^[0-9a-zA-Z_-]+$/),
  experiment: z.string().default('default'),
  name: z.string().nullable().default(null),
  status: z.enum(ENDED_STATUSES),
  start_time: z.number().nullable(),
  end_time: z.number().nullable(),
  git_commit: z.string().nullable(),
  branch: z.string().nullable(),
  dirty: z.boolean().nullable(),
  command: z.string().nullable(),
  user: z.string().nullable(),
  host: z.string().nullable(),
  source: z.string().nullable(),
  params: z.record(z.string(), z.string()),
  tags: z.record(z.string(), z.string()),
  metrics: z.record(z.string(), metricSeries),
  lineage: z.array(z.object({ direction: z.enum(['in', 'out']), path: z.string(), hash: z.string(), stage: z.string().optional() })),
  snapshot: snapshotSchema.optional(),
});

export type RunFile = z.infer<typeof runFileSchema>;

/** The shareable record of one run (metric history in columns: a step series of 10,000 points stays compact). */
export function runRecord(db: TrackingDb, rid: number): RunFile {
  const run = db.getRun(rid);
  const metrics: RunFile['metrics'] = {};
  for (const p of db.history(rid)) {
    const s = (metrics[p.key] ??= { step: [], value: [], ts: [] });
    s.step.push(p.step);
    s.value.push(p.value === null ? p.text : jsonNumber(p.value));
    s.ts.push(p.ts);
  }
  return {
    schema: 1,
    id: run.id,
    experiment: run.experiment,
    name: run.name,
    status: run.status === 'failed' || run.status === 'interrupted' ? run.status : 'finished',
    start_time: run.start_time,
    end_time: run.end_time,
    git_commit: run.git_commit,
    branch: run.branch,
    dirty: run.dirty == null ? null : run.dirty === 1,
    command: run.command,
    user: run.user,
    host: run.host,
    source: run.source,
    params: db.params(rid),
    tags: db.tags(rid),
    metrics,
    lineage: db.lineage(rid).map((e) => (e.stage ? e : { direction: e.direction, path: e.path, hash: e.hash })),
    snapshot: run.snapshot ? JSON.parse(run.snapshot) : undefined,
  };
}

/**
 * JSON has no infinities (JSON.stringify writes null): they are written as the strings "Infinity" and
 * "-Infinity" and read back as numbers. NaN never reaches here: it is stored as the text 'NaN'.
 */
function jsonNumber(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

function fromJsonValue(v: number | string | null): { value: number | null; text: string | null } {
  if (typeof v === 'number') return { value: v, text: null };
  if (v === 'Infinity' || v === '-Infinity') return { value: Number(v), text: null };
  // A run file is a stranger's input after git pull: its text values obey the same bound as new ones.
  return { value: null, text: boundText(String(v)) };
}

export function runFilePath(loc: StoreLocation, id: string): string {
  return join(loc.runsDir, `${id}.json`);
}

/** Writes the run's shareable file (finished and failed runs only) and marks it exported. */
export function exportRun(db: TrackingDb, loc: StoreLocation, rid: number): string {
  const record = runRecord(db, rid);
  const file = runFilePath(loc, record.id);
  writeFileAtomic(file, `${JSON.stringify(record)}\n`);
  db.updateRun(rid, { exported: 1 });
  return file;
}

/** Imports run files whose id the database does not hold; returns how many. */
export function importRunFiles(db: TrackingDb, runsDir: string): number {
  let stamp: string;
  try {
    const st = statSync(runsDir);
    stamp = `${st.ino}:${st.mtimeMs}`;
  } catch {
    return 0;
  }
  // The folder's mtime changes when a file is added or removed (git pull, a run ending); when it has
  // not, listing 10,000 files and comparing ids is skipped.
  const seen = db.read(() => db.db.prepare("SELECT value FROM meta WHERE key = 'runs_dir'").pluck().get() as string | undefined);
  if (seen === stamp) return 0;
  const known = db.runIds();
  // A run that could not reach the database at its end (locked or broken then) was written to its file
  // only; its row, if any, still says 'running' and was never exported: the file is the newer record.
  const stale = new Map(db.read(() => db.db.prepare("SELECT id, rid FROM runs WHERE status = 'running' AND exported = 0").raw().all() as [string, number][]));
  for (const id of stale.keys()) known.delete(id);
  const fresh = readdirSync(runsDir).filter((f) => f.endsWith('.json') && !known.has(f.slice(0, -5)));
  const remember = () => {
    // A stamp younger than the clock's coarseness could hide a file added in the same tick.
    if (Date.now() - Number(stamp.split(':')[1]) > 2000)
      db.write(() => db.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('runs_dir', ?)").run(stamp));
  };
  if (fresh.length === 0) {
    remember();
    return 0;
  }
  const records: RunFile[] = [];
  for (const f of fresh) {
    const name = `.mlo/${RUNS_DIR}/${f}`;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(runsDir, f), 'utf8'));
    } catch (err) {
      throw new MloError('MLO_BAD_RUN_FILE', `${name}: invalid JSON: ${(err as Error).message}`, {
        hint: 'restore it from git (git checkout -- <file>) or delete it',
      });
    }
    const parsed = runFileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new MloError('MLO_BAD_RUN_FILE', `${name}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`, {
        hint: 'restore it from git (git checkout -- <file>) or delete it',
      });
    }
    records.push(parsed.data);
  }
  db.write(() => {
    for (const r of records) {
      const old = stale.get(r.id);
      if (old !== undefined) db.removeRuns([old]);
      importRecord(db, r);
    }
  });
  remember();
  return records.length;
}

export function importRecord(db: TrackingDb, r: RunFile): void {
  const { rid } = db.createRun({
    id: r.id,
    experiment: r.experiment,
    name: r.name,
    status: r.status,
    startTime: r.start_time,
    gitCommit: r.git_commit,
    branch: r.branch,
    dirty: r.dirty,
    command: r.command,
    user: r.user,
    host: r.host,
    source: r.source,
  });
  db.updateRun(rid, { end_time: r.end_time ?? 0, exported: 1, ...(r.snapshot === undefined ? {} : { snapshot: JSON.stringify(r.snapshot) }) });
  db.logParams(rid, r.params);
  db.logTags(rid, r.tags);
  const points = [];
  for (const [key, s] of Object.entries(r.metrics)) {
    for (let i = 0; i < s.step.length; i++) {
      points.push({ key, step: s.step[i], ts: s.ts[i], ...fromJsonValue(s.value[i]) });
    }
  }
  db.logMetrics(rid, points);
  db.logLineage(rid, r.lineage as LineageEntry[]);
}

export function removeRunFile(loc: StoreLocation, id: string): boolean {
  const file = runFilePath(loc, id);
  if (!existsSync(file)) return false;
  rmSync(file, { force: true });
  return true;
}
