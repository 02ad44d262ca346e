/**
 * One job on a worker, independent of the broker: fetch the commit, check it out in the slot's worktree
 * (reused from job to job, reset to the commit with every untracked and ignored file removed),
 * apply the params, pull what the stages need from the mlo remote, run the pipeline with tracking, then
 * push outputs and run-cache entries and, last, publish the run record.
 *
 * Publishing last is what makes a dead worker harmless: until the record is on the remote the run does
 * not exist for anyone; objects pushed before a crash are content-addressed and name no result. The
 * record's key is the job's run id, so a job run twice (its first worker died after publishing, before
 * BullMQ heard) is still one run.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isMloError, MloError } from '../../base/errors.js';
import { addWorktree, fetchGitRemote, hasCommit, prefixInGit, removeWorktree, resetWorktree } from '../../base/git.js';
import { allTracked } from '../data/tracked.js';
import { newCacheTemp } from '../data/cache/import.js';
import type { RunEvent } from '../pipeline/run.js';
import { repoAt, type Repo } from '../repo/repo.js';
import { openRemote } from '../sync/open-remote.js';
import { createTrackingHooks } from '../tracking/hooks.js';
import { prepareMloDir } from '../tracking/runexp.js';
import { applyOverrides, paramKey } from '../tracking/setparams.js';
import { publishRecord } from '../tracking/share.js';
import { openStore, runRecord, storeLocation } from '../tracking/store.js';
import type { JobSpec } from './job.js';
import { GIT_REMOTE } from './submit.js';

export interface JobContext {
  /** The worker's clone. */
  repo: Repo;
  spec: JobSpec;
  /** The worker slot's folder: its worktree stays there from one job to the next. */
  dir: string;
  worker: string;
  signal: AbortSignal;
  log(line: string): void;
  /** Runs git calls that take the clone's worktree lock one at a time. */
  serial<T>(fn: () => T): Promise<T>;
}

export interface JobResult {
  run: string;
  status: 'finished' | 'failed' | 'interrupted';
  metrics: Record<string, number | string>;
  /** Why a failed run failed (the stage and its error). */
  error?: string;
}

export async function runJob(ctx: JobContext): Promise<JobResult> {
  const { repo, spec } = ctx;
  await ctx.serial(() => {
    if (!hasCommit(repo.root, spec.commit)) fetchGitRemote(repo.root, GIT_REMOTE);
    if (!hasCommit(repo.root, spec.commit)) {
      throw new MloError('MLO_COMMIT_NOT_PUSHED', `commit ${spec.commit.slice(0, 7)} of run ${spec.run} is not on this worker's git remote '${GIT_REMOTE}'`, {
        hint: 'push it from the machine that queued the run, then queue the run again',
      });
    }
  });
  const wt = await checkoutSlot(ctx);
  const root = join(wt, prefixInGit(repo.root));
  prepareMloDir(repo, root);
  applyOverrides(root, spec.overrides);
  const wtRepo = repoAt(root);
  const sync = { cwd: root, remote: spec.remote };
  ctx.log(`mlo: ${ctx.worker} runs ${spec.run} at ${spec.commit.slice(0, 7)}`);
  await pullInputs(wtRepo, sync);
  const result = await runTracked(wtRepo, ctx);
  if (result.status === 'interrupted') return result;
  if (result.status === 'finished') {
    const { pushTargets } = await import('../sync/push.js');
    const pushed = await pushTargets(wtRepo, { ...sync, runCache: true });
    ctx.log(`mlo: pushed ${pushed.uploaded} objects to ${pushed.remote}`);
  }
  await publish(wtRepo, spec, sync);
  ctx.log(`mlo: published run ${spec.run} (${result.status})`);
  return result;
}

/**
 * The slot's worktree at the job's commit with nothing of the last job left: reset when the slot has
 * one, added otherwise. Resetting leaves the cache alone (it is the clone's, outside the worktree).
 */
async function checkoutSlot(ctx: JobContext): Promise<string> {
  const wt = join(ctx.dir, 'wt');
  if (existsSync(join(wt, '.git'))) {
    try {
      resetWorktree(wt, ctx.spec.commit);
      return wt;
    } catch (err) {
      if (!isMloError(err, 'MLO_GIT')) throw err;
      // Something git clean could not remove (a read-only folder a stage made): start the slot over.
      await ctx.serial(() => removeWorktree(ctx.repo.root, wt));
    }
  }
  mkdirSync(ctx.dir, { recursive: true });
  await ctx.serial(() => addWorktree(ctx.repo.root, wt, ctx.spec.commit));
  return wt;
}

/** The data files the commit tracks (its pointer files) and the remote's run-cache entries. */
async function pullInputs(repo: Repo, sync: { cwd: string; remote: string }): Promise<void> {
  const inputs = allTracked(repo).filter((t) => t.pointerFile);
  const { pullTargets } = await import('../sync/fetch.js');
  const { fetchRuns } = await import('../sync/run-cache-transfer.js');
  if (inputs.length) await pullTargets(repo, { ...sync, targets: inputs.map((t) => t.path) });
  // Entries let a stage whose inputs another worker already ran be restored instead of run.
  await fetchRuns(repo, sync);
}

async function runTracked(repo: Repo, ctx: JobContext): Promise<JobResult> {
  const { spec } = ctx;
  const hooks = createTrackingHooks(repo, {
    id: spec.run,
    name: spec.name ?? undefined,
    experiment: spec.experiment,
    command: spec.command,
    source: 'queue',
    onWarning: (m) => ctx.log(`warning: ${m}`),
    tags: {
      'mlo.worker': ctx.worker,
      ...(spec.overrides.length ? { 'mlo.set': spec.overrides.map((o) => `${paramKey(o.file, o.key)}=${o.value}`).join(' ') } : {}),
    },
  });
  const { runPipeline } = await import('../pipeline/run.js');
  let error: string | undefined;
  const onEvent = (e: RunEvent) => {
    if (e.type === 'output') ctx.log(`${e.stage} | ${e.line}`);
    else if (e.type === 'start') ctx.log(`mlo: running stage '${e.stage}'`);
    else if (e.type === 'restored') ctx.log(`mlo: stage '${e.stage}' restored its outputs (${e.from})`);
    else if (e.type === 'done' && e.status !== 'ran') {
      ctx.log(`mlo: stage '${e.stage}' ${e.status}${e.error ? `: ${e.error}` : ''}`);
      if (e.status === 'failed') error ??= `stage '${e.stage}' failed${e.error ? `: ${e.error}` : ''}`;
    } else if (e.type === 'warning') ctx.log(`warning: ${e.message}`);
  };
  let outcome: { ok: boolean; interrupted: boolean };
  try {
    const r = await runPipeline(repo, {
      targets: spec.targets,
      force: spec.force,
      hooks,
      signal: ctx.signal,
      baseEnv: process.env,
      onEvent,
      pull: {
        fetchOutputs: async (paths) => {
          const { fetchTargets } = await import('../sync/fetch.js');
          await fetchTargets(repo, { cwd: repo.root, remote: spec.remote, targets: paths, locked: true });
        },
        // Tracked inputs were pulled before the run (pullInputs above).
        pullInputs: async () => {},
      },
    });
    outcome = { ok: r.ok, interrupted: r.interrupted };
  } catch (err) {
    if (!(err instanceof MloError)) throw err;
    // A pipeline that cannot start (bad mlo.yaml at that commit) is this run's failure, not the worker's.
    error = err.message;
    outcome = { ok: false, interrupted: false };
  }
  if (!hooks.started) await hooks.onRunStart?.({ root: repo.root, stages: [], targets: [], force: false, startedAt: new Date().toISOString() });
  await hooks.onRunEnd?.({ ok: outcome.ok, interrupted: outcome.interrupted, durationMs: 0, stages: [] });
  const recorded = hooks.result;
  if (!recorded) throw new MloError('MLO_RUN_FAILED', `run ${spec.run} was not recorded`, { hint: 'see the warnings in mlo queue logs' });
  const status = recorded.status === 'failed' || recorded.status === 'interrupted' ? recorded.status : 'finished';
  return { run: spec.run, status, metrics: recorded.metrics, ...(status === 'failed' ? { error: error ?? 'the pipeline failed' } : {}) };
}

/** Uploads the run's record, as this worktree's store holds it, under the run's id. */
async function publish(repo: Repo, spec: JobSpec, sync: { cwd: string; remote: string }): Promise<void> {
  const db = openStore(storeLocation(repo));
  let record;
  try {
    record = runRecord(db, db.findRun(spec.run).rid);
  } finally {
    db.close();
  }
  const opened = await openRemote(repo, sync);
  try {
    await publishRecord(opened.remote, record, newCacheTemp(repo.cacheDir));
  } finally {
    await opened.close();
  }
}
