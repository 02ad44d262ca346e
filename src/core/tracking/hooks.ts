/**
 * Records a pipeline run: `createTrackingHooks(repo)` returns the hooks `runPipeline` calls, so every
 * `mlo run` and `mlo exp run` becomes a run in the tracking store with its git state, params, metrics
 * files (read after each stage), step series (the JSON lines a stage appends to $MLO_METRICS_FILE),
 * the hashes of what each stage read and wrote, and a snapshot for `mlo exp apply`.
 *
 * One module: the hooks are one closure over a single run's state (its id, the active store, the pending warnings), which every hook reads and updates.
 */
import { mkdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import type { Repo } from '../repo/repo.js';
import { toPosix } from '../../base/fs.js';
import { errnoCode, isMloError, MloError } from '../../base/errors.js';
import { newRunId, TrackingDb, type LineageEntry, type NewRun, type RunStatus } from './db.js';
import { exportRun, importRecord, openStore, runFilePath, runRecord, storeLocation, type RunFile, type StoreLocation } from './store.js';
import { gitInfo, paramsOfTexts, paramText, takeSnapshot } from './workspace.js';
import { dropBadKeys, flatten, parseMetricsText, readStepLines, toMetricValue } from './values.js';
import type { PipelineHooks, RunSummary, StageEndResult, StageStartInfo } from '../pipeline/hooks.js';
import { PIPELINE_FILE } from '../repo/names.js';
import { declaredFiles } from './declared.js';
import { paramKey } from './setparams.js';
import { plural } from '../../base/plural.js';

export interface TrackingHookOptions {
  /** Run name (`-n`). */
  name?: string;
  experiment?: string;
  /** What started the run: `mlo run`, `mlo exp run -S lr=0.1`, ... */
  command?: string;
  /** 'run' (mlo run), 'exp' (mlo exp run), 'queue' (a queue worker). */
  source?: string;
  /** Record into this existing (queued) run instead of creating one. */
  runId?: string;
  /**
   * Create the run under this id instead of a random one: a shared-queue job's id, so a job run again
   * after its worker died is recorded as the same run.
   */
  id?: string;
  /** Another repository's tracking.db (queue workers record into the main repository's store). */
  dbFile?: string;
  tags?: Record<string, string>;
  /**
   * Problems that do not stop the run (a bad metrics line, a database that cannot be written) are
   * reported here. Without it they are thrown by the next onStageEnd / onRunEnd, after that hook has
   * done its work, so the runner shows them as warnings.
   */
  onWarning?: (message: string) => void;
}

/** What a finished hook run recorded (read before the store is closed, so callers need not reopen it). */
export interface TrackedRunResult {
  id: string;
  name: string | null;
  status: RunStatus;
  params: Record<string, string>;
  metrics: Record<string, number | string>;
  /** True when the database could not be written and the run went to its run file only. */
  fileOnly: boolean;
}

export type TrackingHooks = PipelineHooks & {
  /** The id of the run being recorded (known before the pipeline starts). */
  readonly runId: string;
  readonly store: StoreLocation;
  /** True once the run row exists (onRunStart or a later hook ran). */
  readonly started: boolean;
  /** Set by onRunEnd. */
  readonly result: TrackedRunResult | undefined;
};

/** Environment variables a stage (and `mlo log`, and the `log` API) finds its run by. */
export const ENV = {
  runId: 'MLO_RUN_ID',
  metricsFile: 'MLO_METRICS_FILE',
  trackingDb: 'MLO_TRACKING_DB',
} as const;

interface Active {
  db: TrackingDb;
  rid: number;
  /** The database is an in-memory stand-in: the real one could not be written (see degrade). */
  memory: boolean;
  stages: string[];
  /** Metrics files already read after their stage. */
  metricsRead: Set<string>;
  failed: boolean;
  interrupted: boolean;
}

/** Errors of the store itself (as opposed to bad data): the run goes on without it. */
function isStoreError(err: unknown): boolean {
  if (isMloError(err)) return err.code === 'MLO_DB_LOCKED' || err.code === 'MLO_DB_CORRUPT' || err.code === 'MLO_DB_TOO_NEW' || err.code === 'MLO_UNKNOWN_RUN';
  // SQLite I/O errors, a full disk, a read-only file, a folder that cannot be created.
  return (err as Error)?.name === 'SqliteError' || /^E[A-Z]+$/.test(errnoCode(err) ?? '');
}

function relToRoot(repo: Repo, p: string): string {
  return toPosix(isAbsolute(p) ? relative(repo.root, p) : p);
}

/** At most this many bad $MLO_METRICS_FILE lines are named in the warning. */
const BAD_LINES_SHOWN = 5;

export function createTrackingHooks(repo: Repo, opts: TrackingHookOptions = {}): TrackingHooks {
  const store = storeLocation(repo, opts.dbFile);
  const runId = opts.runId;
  let active: Active | undefined;
  let ended = false;
  let result: TrackedRunResult | undefined;
  const pending: string[] = [];
  // The id is known before the pipeline starts, so callers can print it even if the run fails.
  let id = runId ?? opts.id ?? newRunId();
  const seriesDir = () => join(repo.tmpDir, 'runs', id);
  const seriesFile = (stage: string) => join(seriesDir(), `${stage.replace(/[^A-Za-z0-9_.@-]/g, '_')}.jsonl`);
  const runFileName = () => toPosix(relative(repo.root, runFilePath(store, id)));

  const warn = (message: string) => {
    if (opts.onWarning) opts.onWarning(message);
    else pending.push(message);
  };
  /** Without onWarning, the warnings gathered so far leave through the hook that is ending. */
  const flushWarnings = () => {
    if (opts.onWarning || pending.length === 0) return;
    const all = pending.splice(0);
    throw new MloError('MLO_TRACKING_WARNING', all.join('\n'));
  };

  let base: { fields: Omit<NewRun, 'id'>; params: Record<string, string> } | undefined;

  /**
   * A name that is both a step series and a final value in a metrics file would be one series ending
   * in a spike (the file's value logged at step 0 after the last step). The two are kept apart: the
   * file's value keeps the name (as `metrics show` reads it), the series becomes `NAME (steps)`.
   */
  const fileKeys = new Set<string>();
  const warned = new Set<string>();
  const seriesName = (key: string) => `${key} (steps)`;
  const warnSplit = (key: string, file: string) => {
    if (warned.has(key)) return;
    warned.add(key);
    warn(`metric '${key}' is both a step series and a value in ${file}: the series is recorded as '${seriesName(key)}', the value as '${key}'`);
  };
  const fileOf = new Map<string, string>();

  /** A fresh in-memory store holding this run as far as it is known (`from`: what the real store had). */
  const memoryStore = (from?: RunFile): Active => {
    const db = TrackingDb.open(':memory:', { displayName: 'memory' });
    let rid: number;
    if (from) {
      importRecord(db, from);
      rid = db.findRun(from.id).rid;
      db.updateRun(rid, { status: 'running', exported: 0 });
    } else {
      rid = db.createRun({ id, ...base!.fields }).rid;
      db.logParams(rid, base!.params);
      if (opts.tags) db.logTags(rid, opts.tags);
    }
    return { db, rid, memory: true, stages: [], metricsRead: new Set(), failed: false, interrupted: false };
  };

  /**
   * The database cannot be written (locked past its timeout, corrupt, unreadable): tracking must never
   * break the pipeline, so the rest of the run is recorded in memory and written to its run file at the
   * end (the committed source of truth the database is rebuilt from). One warning; no further waits.
   */
  const degrade = (err: unknown, a?: Active): Active => {
    let from: RunFile | undefined;
    if (a) {
      try {
        from = runRecord(a.db, a.rid);
      } catch {
        // Not even readable: start again from what the run knew at its start.
      }
      try {
        a.db.close();
      } catch {
        // Closing a broken connection may fail too; it is being dropped either way.
      }
    }
    const mem = memoryStore(from);
    if (a) Object.assign(mem, { stages: a.stages, metricsRead: a.metricsRead, failed: a.failed, interrupted: a.interrupted });
    const why = err instanceof Error ? err.message : String(err);
    const hint = isMloError(err) && err.hint ? ` (hint: ${err.hint})` : '';
    warn(
      `experiment tracking cannot use the database: ${why}; this run is recorded in ${runFileName()} only, and mlo exp show imports it once the database works again${hint}`,
    );
    return mem;
  };

  /** Runs a database operation; after a store error, once, on the in-memory stand-in. */
  const withDb = <T>(a: Active, op: (db: TrackingDb, rid: number) => T): T => {
    try {
      return op(a.db, a.rid);
    } catch (err) {
      if (a.memory || !isStoreError(err)) throw err;
      Object.assign(a, degrade(err, a));
      return op(a.db, a.rid);
    }
  };

  const start = (): Active => {
    if (active) return active;
    if (ended) throw new MloError('MLO_RUN_ENDED', `run ${id} has already ended`);
    let params: Record<string, string> = {};
    try {
      params = paramsOfTexts(takeSnapshot(repo.root).params);
    } catch (err) {
      if (!isMloError(err)) throw err;
      warn(`the run is recorded without params: ${err.message}`);
    }
    const git = gitInfo(repo.root);
    const command = opts.command ? (opts.command.startsWith('mlo') ? opts.command : `mlo ${opts.command}`) : 'mlo run';
    base = {
      params,
      fields: {
        name: opts.name ?? null,
        experiment: opts.experiment,
        status: 'running',
        startTime: Date.now(),
        gitCommit: git.gitCommit,
        branch: git.branch,
        dirty: git.dirty,
        command,
        user: git.user,
        host: git.host,
        source: opts.source ?? 'run',
      },
    };
    let db: TrackingDb | undefined;
    try {
      db = openStore(store);
      const f = base.fields;
      let rid: number;
      if (runId) {
        rid = db.findRun(runId).rid;
        db.updateRun(rid, {
          status: 'running',
          start_time: f.startTime!,
          git_commit: f.gitCommit ?? null,
          branch: f.branch ?? null,
          dirty: f.dirty == null ? null : f.dirty ? 1 : 0,
          command: f.command ?? null,
          user: f.user ?? null,
          host: f.host ?? null,
        });
      } else {
        rid = db.createRun({ id, ...f }).rid;
      }
      id = db.getRun(rid).id;
      db.logParams(rid, params);
      if (opts.tags) db.logTags(rid, opts.tags);
      active = { db, rid, memory: false, stages: [], metricsRead: new Set(), failed: false, interrupted: false };
    } catch (err) {
      try {
        db?.close();
      } catch {
        // A broken connection may not close cleanly; it is dropped either way.
      }
      if (!isStoreError(err)) throw err;
      // A row created before the failure stays 'running' and unexported: the run file replaces it on import.
      active = degrade(err);
    }
    return active;
  };

  const ingestSeries = (a: Active, stage: string) => {
    const file = seriesFile(stage);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    // Removed before parsing: a bad file is reported once, not again at run end.
    rmSync(file, { force: true });
    const name = `$MLO_METRICS_FILE of stage ${stage}`;
    const read = readStepLines(text, name);
    const { kept: points, warning } = dropBadKeys(read.points, name);
    const bad = read.bad;
    if (warning) warn(warning);
    for (const p of points) {
      if (!fileKeys.has(p.key)) continue;
      warnSplit(p.key, fileOf.get(p.key)!);
      p.key = seriesName(p.key);
    }
    withDb(a, (db, rid) => db.logMetrics(rid, points));
    if (bad.length) {
      const shown = bad.slice(0, BAD_LINES_SHOWN).map((e) => e.message);
      if (bad.length > BAD_LINES_SHOWN) shown.push(`and ${bad.length - BAD_LINES_SHOWN} more`);
      throw new MloError('MLO_BAD_METRICS', `skipped ${plural(bad.length, 'bad line')} of ${name} (the other lines are recorded): ${shown.join('; ')}`, {
        hint: bad[0].hint,
      });
    }
  };

  const ingestMetricsFiles = (a: Active, files: string[]) => {
    const now = Date.now();
    for (const f of files) {
      const rel = relToRoot(repo, f);
      a.metricsRead.add(rel);
      const abs = join(repo.root, rel);
      if (!existsSync(abs)) continue;
      const metrics = parseMetricsText(readFileSync(abs, 'utf8'), rel);
      const { kept: points, warning } = dropBadKeys(
        Object.entries(metrics).map(([key, v]) => ({ key, step: 0, ts: now, ...toMetricValue(v) })),
        rel,
      );
      if (warning) warn(warning);
      withDb(a, (db, rid) => {
        for (const { key } of points) {
          // Points under this name that no metrics file wrote: a series ($MLO_METRICS_FILE or `mlo log`).
          if (fileKeys.has(key) || db.history(rid, key).length === 0) continue;
          warnSplit(key, rel);
          db.renameMetric(rid, key, seriesName(key));
        }
        db.logMetrics(rid, points);
      });
      for (const { key } of points) {
        fileKeys.add(key);
        fileOf.set(key, rel);
      }
    }
  };

  /** Data problems (a bad metrics file or line) do not stop the run: they are warnings. */
  const report = (errors: unknown[]) => {
    for (const e of errors) warn((e as Error).message);
  };

  const hooks: TrackingHooks = {
    get runId() {
      return id;
    },
    store,
    get started() {
      return active !== undefined || ended;
    },
    get result() {
      return result;
    },
    async onRunStart() {
      start();
      return { [ENV.runId]: id, [ENV.trackingDb]: store.dbFile };
    },
    async onStageStart(stage: StageStartInfo) {
      mkdirSync(seriesDir(), { recursive: true });
      const file = seriesFile(stage.name);
      rmSync(file, { force: true });
      // The stage gets its run id and series file whatever happens to the store (store errors are
      // already absorbed by start(); anything else is reported, not allowed to take the env away).
      try {
        start().stages.push(stage.name);
      } catch (err) {
        warn(`experiment tracking failed for stage '${stage.name}': ${(err as Error).message}`);
      }
      return { [ENV.runId]: id, [ENV.metricsFile]: file, [ENV.trackingDb]: store.dbFile };
    },
    async onStageEnd(stage: StageStartInfo, stageResult: StageEndResult) {
      const a = start();
      const name = stage.name;
      if (stageResult.status === 'interrupted') a.interrupted = true;
      else if (stageResult.status !== 'succeeded') a.failed = true;
      const errors: unknown[] = [];
      attempt(errors, () => ingestSeries(a, name));
      attempt(errors, () => ingestMetricsFiles(a, stageResult.metricsFiles ?? stage.metricsFiles ?? []));
      const lineage: LineageEntry[] = [];
      for (const d of stageResult.deps ?? []) if (d.hash) lineage.push({ direction: 'in', path: relToRoot(repo, d.path), hash: d.hash, stage: name });
      for (const o of stageResult.outs ?? []) if (o.hash) lineage.push({ direction: 'out', path: relToRoot(repo, o.path), hash: o.hash, stage: name });
      if (lineage.length) withDb(a, (db, rid) => db.logLineage(rid, lineage));
      // Params files were read whole at run start; a stage's own params add only keys not seen there.
      const known = withDb(a, (db, rid) => db.params(rid));
      const extra: Record<string, string> = {};
      for (const [file, values] of Object.entries(stageResult.params ?? {})) {
        for (const [k, v] of Object.entries(flatten(values))) {
          const key = paramKey(file, k);
          if (!(key in known)) extra[key] = paramText(v);
        }
      }
      if (Object.keys(extra).length) withDb(a, (db, rid) => db.logParams(rid, extra));
      withDb(a, (db, rid) => db.logTags(rid, { [`stage.${name}`]: `${stageResult.status} ${Math.round(stageResult.durationMs ?? 0)}ms` }));
      report(errors);
      flushWarnings();
    },
    async onRunEnd(summary?: RunSummary) {
      if (ended) return;
      const a = start();
      ended = true;
      try {
        // `mlo run` with everything up to date ran nothing: not a run worth a record (and a file in git).
        if ((opts.source ?? 'run') === 'run' && !runId && a.stages.length === 0 && summary?.ok) {
          withDb(a, (db, rid) => db.removeRuns([rid]));
          rmSync(seriesDir(), { recursive: true, force: true });
          return;
        }
        const interrupted = a.interrupted || summary?.interrupted === true;
        const failed = a.failed || (summary !== undefined && !summary.ok);
        // Bad metrics must not leave the run 'running': record what can be read, end it, then report.
        const errors: unknown[] = [];
        // A stage that ran without a matching onStageEnd (the runner stopped) may have left points.
        for (const s of a.stages) attempt(errors, () => ingestSeries(a, s));
        // Stages skipped as up to date still have their metrics files: a run records them too.
        attempt(errors, () =>
          ingestMetricsFiles(
            a,
            declaredFiles(readText(join(repo.root, PIPELINE_FILE))).metrics.filter((m) => !a.metricsRead.has(m)),
          ),
        );
        let snapshot = '{"params":{}}';
        attempt(errors, () => (snapshot = JSON.stringify(takeSnapshot(repo.root))));
        const status: RunStatus = interrupted ? 'interrupted' : failed ? 'failed' : 'finished';
        withDb(a, (db, rid) => db.updateRun(rid, { status, end_time: Date.now(), snapshot }));
        withDb(a, (db, rid) => exportRun(db, store, rid));
        result = withDb(a, (db, rid) => {
          const row = db.getRun(rid);
          return { id: row.id, name: row.name, status: row.status, params: db.params(rid), metrics: db.latestMetrics(rid), fileOnly: a.memory };
        });
        rmSync(seriesDir(), { recursive: true, force: true });
        report(errors);
      } finally {
        a.db.close();
        active = undefined;
      }
      flushWarnings();
    },
  };
  return hooks;
}

/**
 * Ends the run when the pipeline threw before calling onRunEnd (a no-op after it): as failed, or as
 * interrupted when the user stopped it.
 */
export async function abortTrackedRun(hooks: TrackingHooks, options: { interrupted?: boolean } = {}): Promise<void> {
  if (!hooks.started) return;
  await hooks.onRunEnd?.({ ok: false, interrupted: options.interrupted ?? false, durationMs: 0, stages: [] });
}

function attempt(errors: unknown[], fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof MloError)) throw err;
    errors.push(err);
  }
}

function readText(abs: string): string | undefined {
  return existsSync(abs) ? readFileSync(abs, 'utf8') : undefined;
}

/**
 * The run's shareable file (`.mlo/tracking/runs/<id>.json`) relative to the root, for the `git add`
 * hint: undefined when the run was never started, or its store lives outside the repository (queue
 * workers record into another repository's store).
 */
export function runFileOf(repo: Repo, hooks: TrackingHooks): string | undefined {
  if (!hooks.started) return undefined;
  const rel = toPosix(relative(repo.root, runFilePath(hooks.store, hooks.runId)));
  return rel.startsWith('../') || isAbsolute(rel) ? undefined : rel;
}
