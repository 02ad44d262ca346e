/**
 * Records a pipeline run: `createTrackingHooks(repo)` returns the hooks `runPipeline` calls, so every
 * `mlo run` and `mlo exp run` becomes a run in the tracking store with its git state, params, metrics
 * files (read after each stage), step series (the JSON lines a stage appends to $MLO_METRICS_FILE),
 * the hashes of what each stage read and wrote, and a snapshot for `mlo exp apply`.
 */
import { mkdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import type { Repo } from '../repo.js';
import { toPosix } from '../fsutil.js';
import { errnoCode, MloError } from '../errors.js';
import { newRunId, type TrackingDb, type LineageEntry } from './db.js';
import { exportRun, openStore, storeLocation, type StoreLocation } from './store.js';
import { gitInfo, paramsOfTexts, paramText, takeSnapshot } from './workspace.js';
import { flatten, parseMetricsText, parseStepLines, toMetricValue } from './values.js';
import type { PipelineHooks, RunSummary, StageEndResult, StageStartInfo } from '../pipeline/hooks.js';
import { declaredFiles, PIPELINE_FILE } from './declared.js';
import { paramKey } from './setparams.js';

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
  /** Another repository's tracking.db (queue workers record into the main repository's store). */
  dbFile?: string;
  tags?: Record<string, string>;
}

export type TrackingHooks = PipelineHooks & {
  /** The id of the run being recorded (known before the pipeline starts). */
  readonly runId: string;
  readonly store: StoreLocation;
  /** True once the run row exists (onRunStart or a later hook ran). */
  readonly started: boolean;
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
  stages: string[];
  /** Metrics files already read after their stage. */
  metricsRead: Set<string>;
  failed: boolean;
}

function relToRoot(repo: Repo, p: string): string {
  return toPosix(isAbsolute(p) ? relative(repo.root, p) : p);
}

export function createTrackingHooks(repo: Repo, opts: TrackingHookOptions = {}): TrackingHooks {
  const store = storeLocation(repo, opts.dbFile);
  const runId = opts.runId;
  let active: Active | undefined;
  let ended = false;
  // The id is known before the pipeline starts, so callers can print it even if the run fails.
  let id = runId ?? newRunId();
  const seriesDir = () => join(repo.tmpDir, 'runs', id);
  const seriesFile = (stage: string) => join(seriesDir(), `${stage.replace(/[^A-Za-z0-9_.@-]/g, '_')}.jsonl`);

  const start = (): Active => {
    if (active) return active;
    if (ended) throw new MloError('MLO_RUN_ENDED', `run ${id} has already ended`);
    // Params are read first: a broken params file must not leave a half-created run behind.
    const params = paramsOfTexts(takeSnapshot(repo.root).params);
    const db = openStore(store);
    try {
      const git = gitInfo(repo.root);
      const fields = {
        status: 'running' as const,
        start_time: Date.now(),
        git_commit: git.gitCommit,
        branch: git.branch,
        dirty: git.dirty == null ? null : git.dirty ? 1 : 0,
        command: opts.command ? (opts.command.startsWith('mlo') ? opts.command : `mlo ${opts.command}`) : 'mlo run',
        user: git.user,
        host: git.host,
      };
      let rid: number;
      if (runId) {
        rid = db.findRun(runId).rid;
        db.updateRun(rid, fields);
      } else {
        const created = db.createRun({
          id,
          name: opts.name ?? null,
          experiment: opts.experiment,
          status: 'running',
          startTime: fields.start_time,
          gitCommit: git.gitCommit,
          branch: git.branch,
          dirty: git.dirty,
          command: fields.command,
          user: git.user,
          host: git.host,
          source: opts.source ?? 'run',
        });
        rid = created.rid;
      }
      id = db.getRun(rid).id;
      db.logParams(rid, params);
      if (opts.tags) db.logTags(rid, opts.tags);
      active = { db, rid, stages: [], metricsRead: new Set(), failed: false };
      return active;
    } catch (err) {
      db.close();
      throw err;
    }
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
    a.db.logMetrics(a.rid, parseStepLines(text, `$MLO_METRICS_FILE of stage ${stage}`));
  };

  const ingestMetricsFiles = (a: Active, files: string[]) => {
    const now = Date.now();
    for (const f of files) {
      const rel = relToRoot(repo, f);
      a.metricsRead.add(rel);
      const abs = join(repo.root, rel);
      if (!existsSync(abs)) continue;
      const metrics = parseMetricsText(readFileSync(abs, 'utf8'), rel);
      a.db.logMetrics(
        a.rid,
        Object.entries(metrics).map(([key, v]) => ({ key, step: 0, ts: now, ...toMetricValue(v) })),
      );
    }
  };

  const hooks: TrackingHooks = {
    get runId() {
      return id;
    },
    store,
    get started() {
      return active !== undefined || ended;
    },
    async onRunStart() {
      start();
      return { [ENV.runId]: id, [ENV.trackingDb]: store.dbFile };
    },
    async onStageStart(stage: StageStartInfo) {
      const a = start();
      a.stages.push(stage.name);
      mkdirSync(seriesDir(), { recursive: true });
      const file = seriesFile(stage.name);
      rmSync(file, { force: true });
      return { [ENV.runId]: id, [ENV.metricsFile]: file, [ENV.trackingDb]: store.dbFile };
    },
    async onStageEnd(stage: StageStartInfo, result: StageEndResult) {
      const a = start();
      const name = stage.name;
      if (result.status !== 'succeeded') a.failed = true;
      const errors: unknown[] = [];
      attempt(errors, () => ingestSeries(a, name));
      attempt(errors, () => ingestMetricsFiles(a, result.metricsFiles ?? stage.metricsFiles ?? []));
      const lineage: LineageEntry[] = [];
      for (const d of result.deps ?? []) if (d.hash) lineage.push({ direction: 'in', path: relToRoot(repo, d.path), hash: d.hash, stage: name });
      for (const o of result.outs ?? []) if (o.hash) lineage.push({ direction: 'out', path: relToRoot(repo, o.path), hash: o.hash, stage: name });
      if (lineage.length) a.db.logLineage(a.rid, lineage);
      // Params files were read whole at run start; a stage's own params add only keys not seen there.
      const known = a.db.params(a.rid);
      const extra: Record<string, string> = {};
      for (const [file, values] of Object.entries(result.params ?? {})) {
        for (const [k, v] of Object.entries(flatten(values))) {
          const key = paramKey(file, k);
          if (!(key in known)) extra[key] = paramText(v);
        }
      }
      if (Object.keys(extra).length) a.db.logParams(a.rid, extra);
      a.db.logTags(a.rid, { [`stage.${name}`]: `${result.status} ${Math.round(result.durationMs ?? 0)}ms` });
      if (errors.length) throw errors[0];
    },
    async onRunEnd(summary?: RunSummary) {
      if (ended) return;
      const a = start();
      ended = true;
      try {
        // `mlo run` with everything up to date ran nothing: not a run worth a record (and a file in git).
        if ((opts.source ?? 'run') === 'run' && !runId && a.stages.length === 0 && summary?.ok) {
          a.db.removeRuns([a.rid]);
          rmSync(seriesDir(), { recursive: true, force: true });
          return;
        }
        const failed = a.failed || (summary !== undefined && !summary.ok);
        // Bad metrics must not leave the run 'running': record what can be read, end it, then report.
        const errors: unknown[] = [];
        // A stage that ran without a matching onStageEnd (the runner stopped) may have left points.
        for (const s of a.stages) attempt(errors, () => ingestSeries(a, s));
        // Stages skipped as up to date still have their metrics files: a run records them too.
        attempt(errors, () => ingestMetricsFiles(a, declaredFiles(readText(join(repo.root, PIPELINE_FILE))).metrics.filter((m) => !a.metricsRead.has(m))));
        let snapshot = '{"params":{}}';
        attempt(errors, () => (snapshot = JSON.stringify(takeSnapshot(repo.root))));
        a.db.updateRun(a.rid, { status: failed ? 'failed' : 'finished', end_time: Date.now(), snapshot });
        exportRun(a.db, store, a.rid);
        rmSync(seriesDir(), { recursive: true, force: true });
        if (errors.length) throw errors[0];
      } finally {
        a.db.close();
        active = undefined;
      }
    },
  };
  return hooks;
}

/** Ends the run as failed when the pipeline threw before calling onRunEnd (a no-op after it). */
export async function abortTrackedRun(hooks: TrackingHooks): Promise<void> {
  if (!hooks.started) return;
  await hooks.onRunEnd?.({ ok: false, interrupted: false, durationMs: 0, stages: [] });
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
