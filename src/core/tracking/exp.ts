/**
 * Comparing and managing recorded runs: the `exp show` table (one row a run, params and metrics as
 * columns, the best value of each metric marked), `exp diff`, `exp remove`, `exp apply` (a run's
 * params and outputs back into the workspace) and `exp branch` (a run's params on a new git branch).
 *
 * One module, past 500 lines on purpose: these verbs share one view of a recorded run, the RunSummary
 * that show and diff build and the snapshot that apply and branch restore (outputs cached or not,
 * checked against the snapshot schema before anything is written). Its seam is show/diff versus
 * apply/branch; splitting there would export that shared view for two callers only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MloError, isMloError } from '../../base/errors.js';
import { writeFileAtomic } from '../../base/fs.js';
import { branchExists, checkBranchName, commitFilesToBranch, prefixInGit } from '../../base/git.js';
import type { Repo } from '../repo/repo.js';
import { lockOutputs, outsFromLockDoc, type Tracked } from '../data/tracked.js';
import { hasObject, objectPath } from '../data/cache/objects.js';
import { readManifest } from '../data/cache/manifest.js';
import { isDirHash } from '../data/hash/blake3.js';
import { parseYaml } from '../../base/yamlfile.js';
import type { RunRow, RunStatus, TrackingDb } from './db.js';
import { LOCK_FILE } from '../repo/names.js';
import { removeRunFile, snapshotSchema, type Snapshot, type StoreLocation } from './store.js';
import { applyOverrides, DEFAULT_PARAMS_FILE, parseScalar } from './setparams.js';
import { lowerIsBetter } from './values.js';

export interface RunSummary {
  id: string;
  name: string | null;
  experiment: string;
  status: RunStatus;
  start: string | null;
  end: string | null;
  commit: string | null;
  branch: string | null;
  dirty: boolean | null;
  source: string | null;
  params: Record<string, string>;
  metrics: Record<string, number | string>;
}

export interface ShowOptions {
  sortBy?: string;
  sortOrder?: 'asc' | 'desc';
  onlyChanged?: boolean;
  limit?: number;
  experiment?: string;
}

export interface BestValue {
  run: string;
  value: number;
  /** 'min' for loss-like metrics (loss, error, mse, ...), else 'max'. */
  goal: 'min' | 'max';
}

export interface ShowResult {
  columns: { params: string[]; metrics: string[] };
  runs: RunSummary[];
  best: Record<string, BestValue>;
  total: number;
  sortBy?: string;
}

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

function summaryOf(r: RunRow): RunSummary {
  return {
    id: r.id,
    name: r.name,
    experiment: r.experiment,
    status: r.status,
    start: iso(r.start_time),
    end: iso(r.end_time),
    commit: r.git_commit,
    branch: r.branch,
    dirty: r.dirty == null ? null : r.dirty === 1,
    source: r.source,
    params: {},
    metrics: {},
  };
}

/**
 * One run as the JSON text of a RunSummary, spliced around the per-run summary columns (migration 3),
 * which SQLite wrote with json_group_object and so are valid JSON: neither side parses them.
 */
function runJsonText(row: ShowRow): string {
  const [, id, experiment, name, status, start, end, commit, branch, dirty, source, params, metrics] = row;
  const str = (v: string | null) => (v === null ? 'null' : JSON.stringify(v));
  return `{"id":${str(id)},"name":${str(name)},"experiment":${str(experiment)},"status":${str(status)},"start":${str(iso(start))},"end":${str(iso(end))},"commit":${str(commit)},"branch":${str(branch)},"dirty":${dirty === null ? 'null' : dirty ? 'true' : 'false'},"source":${str(source)},"params":${params},"metrics":${metrics}}`;
}

type ShowRow = [
  number,
  string,
  string,
  string | null,
  RunStatus,
  number | null,
  number | null,
  string | null,
  string | null,
  number | null,
  string | null,
  string,
  string,
];

const SHOW_COLUMNS =
  'r.rid, r.id, e.name, r.name, r.status, r.start_time, r.end_time, r.git_commit, r.branch, r.dirty, r.source, r.params_json, r.metrics_json';

/** Distinct keys of a table with an index on key: one index seek per key instead of a scan of every row. */
function distinctKeys(sql: TrackingDb['db'], table: 'params' | 'latest_metrics'): string[] {
  return sql
    .prepare(
      `WITH RECURSIVE k(key) AS (SELECT MIN(key) FROM ${table} UNION ALL SELECT (SELECT MIN(key) FROM ${table} WHERE key > k.key) FROM k WHERE k.key IS NOT NULL)
       SELECT key FROM k WHERE key IS NOT NULL`,
    )
    .pluck()
    .all() as string[];
}

/** A param's value for sorting: a number when the text is one. */
const PARAM_SORT_VALUE = `(SELECT CASE WHEN CAST(value AS REAL) || '' = value OR CAST(value AS INTEGER) || '' = value THEN CAST(value AS REAL) ELSE value END
  FROM params WHERE rid = r.rid AND key = :key)`;

interface ShowQuery {
  /** The selected runs' rows, in display order. */
  rows: ShowRow[];
  columns: { params: string[]; metrics: string[] };
  best: Record<string, BestValue>;
  total: number;
  sortBy?: string;
}

/**
 * The `exp show` table, worked out by SQLite: which runs, in which order, which columns, the best value
 * of each metric, and each run's JSON. JavaScript never sees the 200,000 metric values of 10,000 runs x
 * 20 metrics one by one: parsing and re-serialising them was most of the command's time.
 */
function queryShow(db: TrackingDb, options: ShowOptions): ShowQuery {
  const sql = db.db;
  const exp = options.experiment ?? null;
  const where = 'WHERE (:exp IS NULL OR r.experiment = (SELECT id FROM experiments WHERE name = :exp))';
  const total = sql.prepare(`SELECT COUNT(*) FROM runs r ${where}`).pluck().get({ exp }) as number;
  const allRuns = sql.prepare('SELECT COUNT(*) FROM runs').pluck().get() as number;
  let ordered: string;
  const bind: Record<string, unknown> = { exp };
  if (options.sortBy) {
    const key = options.sortBy;
    const isMetric = sql.prepare('SELECT 1 FROM latest_metrics WHERE key = ? LIMIT 1').get(key) !== undefined;
    if (!isMetric && sql.prepare('SELECT 1 FROM params WHERE key = ? LIMIT 1').get(key) === undefined) {
      const known = sql.prepare('SELECT DISTINCT key FROM latest_metrics ORDER BY key LIMIT 10').pluck().all() as string[];
      throw new MloError('MLO_UNKNOWN_METRIC', `no run has a metric or param '${key}'`, {
        hint: known.length ? `metrics: ${known.join(', ')}` : 'no metrics recorded yet',
      });
    }
    const asc = options.sortOrder ? options.sortOrder === 'asc' : lowerIsBetter(key);
    const value = isMetric ? '(SELECT COALESCE(value, text) FROM latest_metrics WHERE rid = r.rid AND key = :key)' : PARAM_SORT_VALUE;
    bind.key = key;
    // Runs without the key last, then text values, then numbers best first; ties newest first.
    ordered = `SELECT rid FROM (SELECT r.rid, r.start_time, ${value} AS v FROM runs r ${where})
      ORDER BY v IS NULL, typeof(v) = 'text', v ${asc ? 'ASC' : 'DESC'}, start_time DESC, rid DESC`;
  } else {
    ordered = `SELECT r.rid FROM runs r ${where} ORDER BY r.start_time DESC, r.rid DESC`;
  }
  if (options.limit) {
    ordered += ' LIMIT :limit';
    bind.limit = options.limit;
  }
  const rids = sql.prepare(ordered).pluck().all(bind) as number[];
  const everything = rids.length === allRuns;
  if (!everything) {
    sql.exec('CREATE TEMP TABLE IF NOT EXISTS show_selection (rid INTEGER PRIMARY KEY); DELETE FROM temp.show_selection');
    const add = sql.prepare('INSERT INTO temp.show_selection (rid) VALUES (?)');
    sql.transaction(() => {
      for (const rid of rids) add.run(rid);
    })();
  }
  const inSelection = everything ? '' : 'AND rid IN (SELECT rid FROM temp.show_selection)';
  // The rows come unsorted (a sort would carry every row's JSON) and are put in order here.
  const rows = sql
    .prepare(
      `SELECT ${SHOW_COLUMNS} FROM runs r JOIN experiments e ON e.id = r.experiment ${everything ? '' : 'WHERE r.rid IN (SELECT rid FROM temp.show_selection)'}`,
    )
    .raw()
    .all() as ShowRow[];
  const byRid = new Map(rows.map((r) => [r[0], r]));

  const columnsOf = (table: 'params' | 'latest_metrics', distinct: string) => {
    if (!options.onlyChanged) {
      return everything
        ? distinctKeys(sql, table)
        : (sql.prepare(`SELECT DISTINCT key FROM ${table} WHERE 1 ${inSelection} ORDER BY key`).pluck().all() as string[]);
    }
    // A column is kept when some selected run lacks the key or two runs differ.
    const rows = sql
      .prepare(`SELECT key, COUNT(*), COUNT(DISTINCT ${distinct}) FROM ${table} WHERE 1 ${inSelection} GROUP BY key ORDER BY key`)
      .raw()
      .all() as [string, number, number][];
    return rows.filter(([, n, d]) => n < rids.length || d > 1).map(([k]) => k);
  };
  const params = columnsOf('params', 'value');
  const metrics = columnsOf('latest_metrics', 'COALESCE(value, text)');

  const best: Record<string, BestValue> = {};
  const bestOf = (goal: 'min' | 'max') =>
    sql
      .prepare(
        `SELECT r.id, m.value FROM latest_metrics m JOIN runs r ON r.rid = m.rid
       WHERE m.key = ? AND m.value BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308 ${inSelection.replace('rid IN', 'm.rid IN')}
       ORDER BY m.value ${goal === 'min' ? 'ASC' : 'DESC'} LIMIT 1`,
      )
      .raw();
  const stmts = { min: bestOf('min'), max: bestOf('max') };
  for (const key of metrics) {
    const goal = lowerIsBetter(key) ? 'min' : 'max';
    const row = stmts[goal].get(key) as [string, number] | undefined;
    if (row) best[key] = { run: row[0], value: row[1], goal };
  }
  return { rows: rids.map((rid) => byRid.get(rid)!), columns: { params, metrics }, best, total, sortBy: options.sortBy };
}

/** Every run (or those chosen) with its params and latest metrics. */
export function showRuns(db: TrackingDb, options: ShowOptions = {}): ShowResult {
  const q = db.read(() => queryShow(db, options));
  const runs = q.rows.map(
    ([, id, experiment, name, status, start, end, commit, branch, dirty, source, params, metrics]): RunSummary => ({
      id,
      name,
      experiment,
      status,
      start: iso(start),
      end: iso(end),
      commit,
      branch,
      dirty: dirty === null ? null : dirty === 1,
      source,
      params: JSON.parse(params) as Record<string, string>,
      metrics: JSON.parse(metrics) as Record<string, number | string>,
    }),
  );
  return { columns: q.columns, runs, best: q.best, total: q.total, sortBy: q.sortBy };
}

/** The same result as one JSON document, spliced from SQLite's JSON without parsing it (`exp show --json`). */
export function showRunsJson(db: TrackingDb, options: ShowOptions = {}): string {
  const q = db.read(() => queryShow(db, options));
  const head = JSON.stringify({ columns: q.columns, best: q.best, total: q.total, sortBy: q.sortBy });
  return `${head.slice(0, -1)},"runs":[${q.rows.map(runJsonText).join(',')}]}`;
}

export interface ValueDiff {
  key: string;
  old: number | string | null;
  new: number | string | null;
  change: number | null;
  /** Relative change in percent of |old|; null when old is 0 or either side is not a number. */
  pct: number | null;
}

export function diffValues(a: Record<string, number | string>, b: Record<string, number | string>, all = true): ValueDiff[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const out: ValueDiff[] = [];
  for (const key of keys) {
    const o = a[key] ?? null;
    const n = b[key] ?? null;
    const on = toNum(o);
    const nn = toNum(n);
    const change = on !== null && nn !== null ? nn - on : null;
    const pct = change !== null && on !== 0 ? (change / Math.abs(on as number)) * 100 : null;
    if (!all && o === n) continue;
    if (!all && change === 0 && on !== null) continue;
    out.push({ key, old: o, new: n, change, pct });
  }
  return out;
}

function toNum(v: number | string | null): number | null {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

export interface RunDiff {
  a: RunSummary;
  b: RunSummary;
  params: ValueDiff[];
  metrics: ValueDiff[];
}

export function runSummary(db: TrackingDb, ref: string): RunSummary {
  const row = db.findRun(ref);
  return { ...summaryOf(row), params: db.params(row.rid), metrics: db.latestMetrics(row.rid) };
}

export function diffRuns(db: TrackingDb, refA: string, refB: string, options: { all?: boolean } = {}): RunDiff {
  const a = runSummary(db, refA);
  const b = runSummary(db, refB);
  return { a, b, params: diffValues(a.params, b.params, options.all ?? false), metrics: diffValues(a.metrics, b.metrics, options.all ?? true) };
}

export function removeRuns(db: TrackingDb, loc: StoreLocation, refs: string[]): string[] {
  const rows = refs.map((r) => db.findRun(r));
  for (const r of rows) {
    if (r.status === 'running') {
      throw new MloError('MLO_RUN_ACTIVE', `run ${r.id} is still running`, { hint: 'wait for it to finish, then remove it' });
    }
  }
  db.removeRuns(rows.map((r) => r.rid));
  for (const r of rows) removeRunFile(loc, r.id);
  return rows.map((r) => r.id);
}

function snapshotOf(run: RunRow): Snapshot | undefined {
  if (!run.snapshot) return undefined;
  // Checked again here, not only on import: a database from before the check, or one edited by hand,
  // must not make apply or branch write outside the repository.
  let raw: unknown;
  try {
    raw = JSON.parse(run.snapshot);
  } catch (err) {
    throw new MloError('MLO_BAD_RUN_FILE', `run ${run.id}: snapshot: invalid JSON: ${(err as Error).message}`, {
      hint: `remove the run (mlo exp remove ${run.id})`,
    });
  }
  const parsed = snapshotSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MloError('MLO_BAD_RUN_FILE', `run ${run.id}: snapshot.${issue.path.join('.')}: ${issue.message}`, {
      hint: `remove the run (mlo exp remove ${run.id})`,
    });
  }
  return parsed.data;
}

/** Params files the run's recorded params imply, when it has no snapshot (logged by hand). */
function paramsAsFiles(root: string, params: Record<string, string>): string[] {
  const overrides = Object.entries(params).map(([k, v]) => {
    const colon = k.indexOf(':');
    return colon > 0
      ? { file: k.slice(0, colon), key: k.slice(colon + 1), value: parseScalar(v) }
      : { file: DEFAULT_PARAMS_FILE, key: k, value: parseScalar(v) };
  });
  return applyOverrides(root, overrides);
}

export interface ApplyResult {
  run: string;
  files: string[];
  outs: { restored: string[]; missing: { path: string; hash: string }[] };
}

/**
 * Writes the run's params files and mlo.lock (as they were when it ended) into the workspace and
 * checks every out of the run out of the cache, by the hashes of the run's mlo.lock: cached outs as
 * `cache.type` links them, `cache: false` outs (a plot, a metrics file kept in git) as plain copies,
 * since `mlo run` stores those in the cache too. A `cache: false` metrics file the cache no longer
 * holds (gc) comes from the run record's snapshot. Workspace edits to those files are overwritten:
 * they are what `apply` is asked to replace.
 */
export async function applyRun(repo: Repo, db: TrackingDb, ref: string): Promise<ApplyResult> {
  const run = db.findRun(ref);
  if (run.status === 'queued' || run.status === 'running') {
    throw new MloError('MLO_RUN_NOT_DONE', `run ${run.id} is ${run.status}; only a finished run can be applied`);
  }
  const snap = snapshotOf(run);
  const files: string[] = [];
  if (snap) {
    for (const [file, text] of Object.entries(snap.params)) {
      writeFileAtomic(join(repo.root, file), text);
      files.push(file);
    }
    if (snap.lock !== undefined) {
      writeFileAtomic(join(repo.root, LOCK_FILE), snap.lock);
      files.push(LOCK_FILE);
    }
    for (const [file, text] of Object.entries(snap.metrics ?? {})) {
      if (cachedOuts(snap).has(file)) continue;
      writeFileAtomic(join(repo.root, file), text);
      files.push(file);
    }
  } else {
    files.push(...paramsAsFiles(repo.root, db.params(run.rid)));
  }
  const outs = snap?.lock !== undefined ? lockOutputs(repo).map((t) => t.path) : [];
  const restored: string[] = [];
  const missing: { path: string; hash: string }[] = [];
  // Loaded here: exp show and diff never need the checkout machinery.
  const checkout = () => import('../data/checkout.js');
  if (outs.length) {
    const { checkoutTargets } = await checkout();
    let r = await checkoutTargets(repo, { cwd: repo.root, targets: outs, force: true });
    restored.push(...r.added, ...r.modified);
    if (r.missing.length && Object.keys(repo.config.remotes).length) {
      // A run pulled from the remote (another machine's, a queue worker's) has its outputs there.
      const paths = [...new Set(r.missing.map((m) => m.path))];
      const { fetchTargets } = await import('../sync/fetch.js');
      const fetched = await fetchTargets(repo, { cwd: repo.root, targets: paths }).catch((err: unknown) => {
        // A remote that lacks them leaves them missing, as reported below; anything else is an error.
        if (isMloError(err, 'MLO_MISSING_ON_REMOTE')) return undefined;
        throw err;
      });
      if (fetched) {
        r = await checkoutTargets(repo, { cwd: repo.root, targets: paths, force: true });
        restored.push(...r.added, ...r.modified);
      }
    }
    missing.push(...r.missing);
  }
  const uncached = snap ? uncachedOuts(snap) : [];
  if (uncached.length) {
    const r = await (await checkout()).checkoutCopies(repo, uncached, { force: true });
    restored.push(...r.added, ...r.modified);
    // Already written above from the snapshot: not missing.
    missing.push(...r.missing.filter((m) => !files.includes(m.path)));
  }
  return { run: run.id, files, outs: { restored, missing } };
}

export interface BranchResult {
  run: string;
  branch: string;
  commit: string;
  files: string[];
  /** `cache: false` outs of the run whose content the cache no longer holds: left out of the commit. */
  missing: string[];
}

/**
 * Creates `branch` from the commit the run ran on, plus its params files, mlo.lock and its `cache:
 * false` outs (from the snapshot, else from the cache by the run's lock hashes), so the branch checks
 * out with `mlo status` clean.
 */
export function branchRun(repo: Repo, db: TrackingDb, ref: string, branch: string): BranchResult {
  const run = db.findRun(ref);
  checkBranchName(repo.root, branch);
  if (!run.git_commit)
    throw new MloError('MLO_NO_COMMIT', `run ${run.id} has no git commit recorded`, { hint: 'only runs made inside a git repository can become branches' });
  if (branchExists(repo.root, branch)) throw new MloError('MLO_BRANCH_EXISTS', `branch '${branch}' already exists`, { hint: 'choose another name' });
  const snap = snapshotOf(run);
  const prefix = prefixInGit(repo.root);
  const files: Record<string, string | Buffer> = {};
  if (snap) {
    for (const [f, text] of Object.entries(snap.params)) files[prefix + f] = text;
    if (snap.lock !== undefined) files[prefix + LOCK_FILE] = snap.lock;
    // Metrics files kept in git (cache: false) belong in the commit; cached ones are in the cache.
    for (const [f, text] of Object.entries(snap.metrics ?? {})) if (!cachedOuts(snap).has(f)) files[prefix + f] = text;
  }
  const missing: string[] = [];
  for (const out of snap ? uncachedOuts(snap) : []) {
    if (files[prefix + out.path] !== undefined) continue;
    const content = cachedContent(repo.cacheDir, out);
    if (content) for (const [rel, bytes] of Object.entries(content)) files[prefix + rel] = bytes;
    else missing.push(out.path);
  }
  const title = run.name ? `${run.name} (${run.id})` : run.id;
  const params = db.params(run.rid);
  const body = Object.entries(params)
    .slice(0, 50)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  const commit = commitFilesToBranch(repo.root, { parent: run.git_commit, branch, files, message: `mlo exp ${title}\n\n${body}\n` });
  return { run: run.id, branch, commit, files: Object.keys(files), missing };
}

/** The `cache: false` outs of the run's mlo.lock. */
function uncachedOuts(snap: Snapshot): Tracked[] {
  if (snap.lock === undefined) return [];
  return outsFromLockDoc(parseYaml(snap.lock, `${LOCK_FILE} of the run's snapshot`, 'MLO_BAD_LOCK'), 'uncached');
}

/** The files of `out` (path relative to the root -> bytes) read from the cache; undefined when any is missing. */
function cachedContent(cacheDir: string, out: Tracked): Record<string, Buffer> | undefined {
  const read = (hash: string) => (hasObject(cacheDir, hash) ? readFileSync(objectPath(cacheDir, hash)) : undefined);
  if (!isDirHash(out.hash)) {
    const bytes = read(out.hash);
    return bytes && { [out.path]: bytes };
  }
  const entries = readManifest(cacheDir, out.hash);
  if (!entries) return undefined;
  const files: Record<string, Buffer> = {};
  for (const e of entries) {
    const bytes = read(e.hash);
    if (!bytes) return undefined;
    files[`${out.path}/${e.path}`] = bytes;
  }
  return files;
}

function cachedOuts(snap: Snapshot): Set<string> {
  if (snap.lock === undefined) return new Set();
  try {
    return new Set(outsFromLockDoc(parseYaml(snap.lock, `${LOCK_FILE} of the run's snapshot`, 'MLO_BAD_LOCK')).map((t) => t.path));
  } catch (err) {
    // A lock that does not parse names no outs; an alias bomb in it is refused, never read as none.
    if (isMloError(err)) throw err;
    return new Set();
  }
}
