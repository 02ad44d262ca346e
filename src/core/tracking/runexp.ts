/**
 * `mlo exp run` and the queue. An experiment run writes the `-S` values into the params files of the
 * workspace and runs the pipeline there with the tracking hooks: nothing is committed, and the
 * workspace is left as the run left it (changed params, new outputs, updated mlo.lock), as after
 * `mlo run`. A grid (`--queue`) is recorded as queued runs instead; `mlo queue start -j N` runs them in
 * N worker processes, each in a temporary git worktree of the commit they were queued on, with the
 * workspace's uncommitted pipeline files copied in and the cache shared.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { openScan } from '../data/workspace/scan.js';
import { runCheckout } from '../data/checkout.js';
import { allTracked } from '../data/tracked.js';
import { CONFIG_FILE, LOCAL_CONFIG_FILE, deepMerge, readRawConfig } from '../repo/config.js';
import { MloError, isMloError, usageError } from '../../base/errors.js';
import { toPosix, writeFileAtomic } from '../../base/fs.js';
import { addWorktree, headCommit, modifiedFiles, prefixInGit, removeWorktree, untrackedFiles } from '../../base/git.js';
import { LOCK_FILE, MLO_DIR, PIPELINE_FILE } from '../repo/names.js';
import { repoAt, type Repo } from '../repo/repo.js';
import { POINTER_SUFFIX } from '../data/pointer/schema.js';
import type { PipelineHooks } from '../pipeline/hooks.js';
import type { RunRow, TrackingDb } from './db.js';
import { abortTrackedRun, createTrackingHooks, runFileOf } from './hooks.js';
import { applyOverrides, expandGrid, paramKey, parseSetArg, type ParamOverride } from './setparams.js';
import { openStore, storeLocation, type StoreLocation } from './store.js';
import { paramsFilesOf } from './workspace.js';

/** Runs the pipeline with `hooks`; supplied by the caller so this module does not load the runner itself. */
export type PipelineRunner = (repo: Repo, hooks: PipelineHooks) => Promise<{ ok: boolean; interrupted?: boolean; written?: string[] }>;

export interface ExpRunOptions {
  set: string[];
  name?: string;
  experiment?: string;
  /** How the user started it, recorded on the run. */
  command: string;
  runner: PipelineRunner;
  dbFile?: string;
  /** Tracking problems that do not stop the run (see TrackingHookOptions.onWarning). */
  onWarning?: (message: string) => void;
}

export interface ExpRunResult {
  run: string;
  name: string | null;
  status: 'finished' | 'failed' | 'interrupted';
  params: Record<string, string>;
  metrics: Record<string, number | string>;
  changedFiles: string[];
  /**
   * Paths (relative to the root) the run wrote that belong in git: the params files `-S` changed,
   * what the pipeline wrote (mlo.lock, .gitignore entries, uncached outs), mlo.yaml and the run record.
   */
  written: string[];
}

export function parseOverrides(set: string[]): ParamOverride[][] {
  return expandGrid(set.map(parseSetArg));
}

/** One experiment in the workspace. */
export async function expRun(repo: Repo, options: ExpRunOptions): Promise<ExpRunResult> {
  const combos = parseOverrides(options.set);
  if (combos.length > 1) {
    throw usageError(`-S describes ${combos.length} runs (a grid); queue them with --queue, then run mlo queue start -j N`);
  }
  const overrides = combos[0] ?? [];
  const changedFiles = applyOverrides(repo.root, overrides);
  const hooks = createTrackingHooks(repo, {
    name: options.name,
    experiment: options.experiment,
    command: options.command,
    source: 'exp',
    dbFile: options.dbFile,
    onWarning: options.onWarning,
    tags: overrides.length ? { 'mlo.set': overrides.map((o) => `${paramKey(o.file, o.key)}=${o.value}`).join(' ') } : undefined,
  });
  return finishRun(repo, hooks, options, changedFiles);
}

async function finishRun(
  repo: Repo,
  hooks: ReturnType<typeof createTrackingHooks>,
  options: { runner: PipelineRunner },
  changedFiles: string[],
): Promise<ExpRunResult> {
  let outcome: { ok: boolean; interrupted?: boolean; written?: string[] };
  try {
    outcome = await options.runner(repo, hooks);
  } catch (err) {
    await abortTrackedRun(hooks);
    throw err;
  }
  // The runner reports hook errors as warnings instead of failing; a run that never started is one.
  if (!hooks.started) await hooks.onRunStart?.({ root: repo.root, stages: [], targets: [], force: false, startedAt: new Date().toISOString() });
  await hooks.onRunEnd?.({ ok: outcome.ok, interrupted: outcome.interrupted ?? false, durationMs: 0, stages: [] });
  // Read by the hooks before they closed the store: the database may be unusable (the run then went
  // to its run file only).
  const recorded = hooks.result;
  if (!recorded) throw new MloError('MLO_RUN_FAILED', `run ${hooks.runId} was not recorded`, { hint: 'see the warnings above' });
  const status = recorded.status === 'failed' || recorded.status === 'interrupted' ? recorded.status : 'finished';
  // JSON has no infinities (--json would print null): they are shown as run files store them.
  const metrics = Object.fromEntries(Object.entries(recorded.metrics).map(([k, v]) => [k, typeof v === 'number' && !Number.isFinite(v) ? String(v) : v]));
  const runFile = runFileOf(repo, hooks);
  const written = [...changedFiles, ...(outcome.written ?? []), PIPELINE_FILE, ...(runFile ? [runFile] : [])];
  return { run: recorded.id, name: recorded.name, status, params: recorded.params, metrics, changedFiles, written };
}

interface QueuedSpec {
  overrides: ParamOverride[];
  /** Uncommitted files of the workspace at queue time (path relative to the root -> base64 content). */
  files: Record<string, string>;
}

/** Uncommitted files a worker needs: every modified tracked file, and untracked params, pointer and pipeline files. */
function workspaceFiles(repo: Repo): Record<string, string> {
  const prefix = prefixInGit(repo.root);
  const params = new Set(paramsFilesOf(repo.root));
  const files: Record<string, string> = {};
  const take = (list: string[], keep: (rel: string) => boolean) => {
    for (const full of list) {
      if (!full.startsWith(prefix)) continue;
      const rel = full.slice(prefix.length);
      if (rel.startsWith(`${MLO_DIR}/`) || !keep(rel)) continue;
      const abs = join(repo.root, rel);
      // base64: a modified tracked file may be binary.
      if (existsSync(abs)) files[rel] = readFileSync(abs).toString('base64');
    }
  };
  take(modifiedFiles(repo.root), () => true);
  take(untrackedFiles(repo.root), (rel) => params.has(rel) || rel.endsWith(POINTER_SUFFIX) || rel === PIPELINE_FILE || rel === LOCK_FILE);
  return files;
}

export interface QueuedRun {
  run: string;
  name: string | null;
  params: Record<string, string>;
}

/** Records one queued run per grid point; nothing runs yet. */
export function queueRuns(repo: Repo, options: Omit<ExpRunOptions, 'runner'>): QueuedRun[] {
  const combos = parseOverrides(options.set);
  const base = headCommit(repo.root);
  if (!base) {
    throw new MloError('MLO_NO_COMMIT', 'queued runs start from a commit, and this repository has none yet', {
      hint: 'commit mlo.yaml and your code first (git add -A && git commit)',
    });
  }
  const files = workspaceFiles(repo);
  const loc = storeLocation(repo, options.dbFile);
  const db = openStore(loc);
  try {
    return db.write(() =>
      combos.map((overrides, i) => {
        const name = options.name ? (combos.length > 1 ? `${options.name}-${i + 1}` : options.name) : null;
        const spec: QueuedSpec = { overrides, files };
        const { rid, id } = db.createRun({
          name,
          experiment: options.experiment,
          status: 'queued',
          startTime: null,
          command: options.command,
          source: 'queue',
          queuedSet: JSON.stringify(spec),
          baseCommit: base,
        });
        const params = Object.fromEntries(overrides.map((o) => [paramKey(o.file, o.key), typeof o.value === 'string' ? o.value : JSON.stringify(o.value)]));
        db.logParams(rid, params);
        return { run: id, name, params };
      }),
    );
  } finally {
    db.close();
  }
}

/** Inside a worker: applies the queued run's overrides to this (worktree) workspace and runs it. */
export async function runQueued(
  repo: Repo,
  options: { runId: string; dbFile: string; runner: PipelineRunner; onWarning?: (message: string) => void },
): Promise<ExpRunResult> {
  const loc = storeLocation(undefined, options.dbFile);
  const db = openStore(loc);
  let row: RunRow;
  try {
    row = db.findRun(options.runId);
  } finally {
    db.close();
  }
  const spec = JSON.parse(row.queued_set ?? '{"overrides":[],"files":{}}') as QueuedSpec;
  const changed = applyOverrides(repo.root, spec.overrides);
  const hooks = createTrackingHooks(repo, {
    runId: row.id,
    dbFile: options.dbFile,
    source: 'queue',
    command: row.command ?? 'mlo exp run --queue',
    onWarning: options.onWarning,
  });
  return finishRun(repo, hooks, options, changed);
}

export interface QueueStartOptions {
  jobs: number;
  /** argv to start this mlo (node and the bin script): workers are `mlo exp run --queued ID`. */
  mloCommand: string[];
  dbFile?: string;
  onEvent?: (e: { run: string; event: 'start' | 'end'; status?: string; log: string }) => void;
}

export interface QueueStartResult {
  runs: { run: string; name: string | null; status: string; log: string }[];
}

export function queueLogPath(repo: Repo, id: string): string {
  return join(repo.tmpDir, 'queue', `${id}.log`);
}

/** Claims a queued run atomically, so two `queue start`s never run the same one. */
function claim(db: TrackingDb): RunRow | undefined {
  return db.write(() => {
    const row = db.db.prepare("SELECT rid FROM runs WHERE status = 'queued' ORDER BY rid LIMIT 1").get() as { rid: number } | undefined;
    if (!row) return undefined;
    db.db.prepare("UPDATE runs SET status = 'running', start_time = ? WHERE rid = ? AND status = 'queued'").run(Date.now(), row.rid);
    return db.getRun(row.rid);
  });
}

/** Runs every queued run, `jobs` at a time, each in its own worktree and process. */
export async function startQueue(repo: Repo, options: QueueStartOptions): Promise<QueueStartResult> {
  const loc = storeLocation(repo, options.dbFile);
  const db = openStore(loc);
  const results: QueueStartResult['runs'] = [];
  // Worktree creation takes git's lock on .git/worktrees; one at a time avoids "already locked" races.
  let gitChain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => T): Promise<T> => {
    const p = gitChain.then(fn);
    gitChain = p.catch(() => undefined);
    return p;
  };
  try {
    const worker = async () => {
      for (;;) {
        const row = claim(db);
        if (!row) return;
        const log = queueLogPath(repo, row.id);
        options.onEvent?.({ run: row.id, event: 'start', log });
        let status: string;
        try {
          status = await runWorker(repo, loc, row, log, options, serial);
        } catch (err) {
          status = 'failed';
          writeFileAtomic(log, `${readIf(log)}mlo: ${isMloError(err) ? err.message : String(err)}\n`, { fsync: false });
        }
        const now = db.getRun(row.rid);
        if (now.status === 'running' || now.status === 'queued') {
          // The worker died before recording an end: the run failed.
          db.updateRun(row.rid, { status: 'failed', end_time: Date.now() });
          status = 'failed';
        } else status = now.status;
        results.push({ run: row.id, name: row.name, status, log });
        options.onEvent?.({ run: row.id, event: 'end', status, log });
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.jobs) }, worker));
  } finally {
    db.close();
  }
  return { runs: results };
}

function readIf(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

async function runWorker(
  repo: Repo,
  loc: StoreLocation,
  row: RunRow,
  log: string,
  options: QueueStartOptions,
  serial: <T>(fn: () => T) => Promise<T>,
): Promise<string> {
  mkdirSync(dirname(log), { recursive: true });
  const spec = JSON.parse(row.queued_set ?? '{"overrides":[],"files":{}}') as QueuedSpec;
  const wtRoot = mkdtempSync(join(tmpdir(), `mlo-queue-${row.id}-`));
  const prefix = prefixInGit(repo.root);
  const dir = join(wtRoot, 'wt');
  try {
    await serial(() => addWorktree(repo.root, dir, row.base_commit ?? 'HEAD'));
    const root = join(dir, prefix);
    for (const [rel, b64] of Object.entries(spec.files)) writeFileAtomic(join(root, rel), Buffer.from(b64, 'base64'), { fsync: false });
    prepareMloDir(repo, root);
    const wtRepo = repoAt(root);
    // Materialise tracked data from the shared cache; what is missing is the pipeline's to report.
    // runCheckout, not checkoutTargets: the latter empties the cache's tmp/ folder, where the other
    // workers' stages are writing their outputs into the same (shared) cache at this moment.
    const ctx = openScan(wtRepo);
    try {
      runCheckout(ctx, allTracked(wtRepo), { force: true });
    } catch (err) {
      if (!isMloError(err)) throw err;
    } finally {
      ctx.state.close();
    }
    const fd = openSync(log, 'w');
    try {
      const code = await new Promise<number>((resolve, reject) => {
        const [cmd, ...args] = options.mloCommand;
        const child = spawn(cmd, [...args, 'exp', 'run', '--queued', row.id], {
          cwd: root,
          env: { ...process.env, MLO_TRACKING_DB: loc.dbFile, NO_COLOR: '1' },
          stdio: ['ignore', fd, fd],
        });
        child.on('error', reject);
        child.on('close', (c) => resolve(c ?? 1));
      });
      return code === 0 ? 'finished' : 'failed';
    } finally {
      closeSync(fd);
    }
  } finally {
    await serial(() => removeWorktree(repo.root, dir));
    rmSync(wtRoot, { recursive: true, force: true });
  }
}

/** The worktree's .mlo: the committed config (or the main one's), and a local config pointing at the shared cache. */
export function prepareMloDir(repo: Repo, root: string): void {
  const mloDir = join(root, MLO_DIR);
  mkdirSync(join(mloDir, 'tmp'), { recursive: true });
  if (!existsSync(join(mloDir, CONFIG_FILE)) && existsSync(join(repo.mloDir, CONFIG_FILE))) {
    writeFileAtomic(join(mloDir, CONFIG_FILE), readFileSync(join(repo.mloDir, CONFIG_FILE)), { fsync: false });
  }
  const local = readRawConfig(join(repo.mloDir, LOCAL_CONFIG_FILE), '.mlo/config.local.yaml');
  const merged = deepMerge(local, { cache: { ...((local.cache as Record<string, unknown>) ?? {}), dir: repo.cacheDir } });
  writeFileAtomic(join(mloDir, LOCAL_CONFIG_FILE), stringify(merged), { fsync: false });
}

export interface QueueStatusEntry {
  run: string;
  name: string | null;
  status: string;
  params: Record<string, string>;
  queuedOn: string | null;
}

export function queueStatus(db: TrackingDb): QueueStatusEntry[] {
  return db
    .listRuns()
    .filter((r) => r.source === 'queue')
    .reverse()
    .map((r) => ({ run: r.id, name: r.name, status: r.status, params: db.params(r.rid), queuedOn: r.base_commit }));
}

export function queueLog(repo: Repo, db: TrackingDb, ref: string): { run: string; status: string; log: string; text: string } {
  const row = db.findRun(ref);
  const log = queueLogPath(repo, row.id);
  if (!existsSync(log)) {
    throw new MloError('MLO_NO_LOG', `run ${row.id} has no queue log${row.status === 'queued' ? ' yet (it has not started)' : ''}`, {
      hint: row.status === 'queued' ? 'start the queue with mlo queue start' : 'only runs started by mlo queue start keep a log',
    });
  }
  return { run: row.id, status: row.status, log: toPosix(log), text: readFileSync(log, 'utf8') };
}
