/**
 * `mlo run`: runs the stages that changed, in topological order, up to `jobs` at a time. Each stage is
 * decided right before it would start (its upstream may have just rewritten its deps), its outs are
 * stored in the content cache, and mlo.lock is rewritten atomically after every stage that succeeds,
 * so a failure or Ctrl-C leaves the results of the stages that finished and nothing half-written.
 * A run that acts (runs, restores or pulls a stage) holds the repository lock from the first stage that
 * acts until mlo.lock is written for the last one, as DVC does: two runs at once would delete and write
 * the same outs. It is taken lazily, so a no-op run never touches it; whatever was decided before it
 * was taken is decided again once it is held (another run may have finished meanwhile). A stage's
 * command therefore cannot run mlo commands that take the lock (they wait, then fail with MLO_LOCKED).
 * Which stage starts when is the pure scheduler's call (scheduler.ts); the stage executor (executor.ts)
 * carries each one out and holds the lock and the hooks; this module drives the two.
 */
import type { Repo } from '../repo/repo.js';
import { openScan } from '../data/workspace/scan.js';
import { HashMemo, preflight } from './changes.js';
import { buildGraph, selectStages } from './dag.js';
import { createExecutor, type StageExecutor } from './executor.js';
import { openLock, openPipeline } from './open.js';
import type { DecideOptions, PlanEnv } from './plan.js';
import { checkStagePaths } from './safety.js';
import { createScheduler, type Scheduler } from './scheduler.js';
import type { RunOptions, RunResult, StageOutcome } from './runtypes.js';

export type { RestoreSource, RunEvent, RunOptions, RunResult, StageOutcome } from './runtypes.js';

export async function runPipeline(repo: Repo, options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const pipeline = await openPipeline(repo);
  const graph = buildGraph(pipeline);
  const names = selectStages(graph, options.targets ?? [], { singleItem: options.singleItem, downstream: options.downstream });
  const ctx = openScan(repo);
  const env: PlanEnv = { repo, ctx, memo: new HashMemo(ctx), pipeline, lock: await openLock(repo) };
  const decideOptions: DecideOptions = { force: options.force, pull: Boolean(options.pull), runCache: !options.noRunCache };
  let executor: StageExecutor | undefined;
  try {
    checkStagePaths(
      repo.root,
      names.map((n) => pipeline.byName.get(n)!),
      pipeline.where,
    );
    if (options.pull && !options.dry) await pullInputs(env, graph, names, options.pull);
    preflight(env, graph, names);
    if (options.dry) {
      const plan = (await import('./plan.js')).planStages(env, graph, names, decideOptions);
      return {
        ok: true,
        dry: true,
        interrupted: false,
        durationMs: Date.now() - started,
        lockChanged: false,
        written: [],
        stages: plan.map((p) => ({
          name: p.name,
          action: p.action,
          reasons: p.reasons,
          restoredFrom: p.restoreFrom,
          status: p.frozen ? 'frozen' : p.action === 'none' ? 'unchanged' : 'planned',
        })),
      };
    }
    const outcomes = new Map<string, StageOutcome>();
    const scheduler = createScheduler({ names, upstream: graph.upstream, jobs: options.jobs, keepGoing: options.keepGoing });
    executor = createExecutor({
      env,
      run: options,
      decide: decideOptions,
      names,
      startedAt: started,
      report(outcome) {
        outcomes.set(outcome.name, outcome);
        if (outcome.status === 'failed' || outcome.status === 'interrupted') scheduler.failing(outcome.name);
      },
      halt: () => scheduler.stop(),
    });
    if (env.lock.invalid) await executor.dropStaleEntries();
    if (options.hooksOnNoop) await executor.startRun();
    await drive(scheduler, executor, (name) => OK_STATES.has(outcomes.get(name)!.status), options.signal);
    for (const [name, upstream] of scheduler.skipped()) {
      outcomes.set(name, {
        name,
        action: 'none',
        status: 'skipped',
        reasons: [{ kind: 'upstream', path: upstream, message: `upstream stage '${upstream}' did not succeed` }],
      });
    }
    for (const name of scheduler.unstarted()) {
      outcomes.set(name, {
        name,
        action: 'none',
        status: 'skipped',
        reasons: [{ kind: 'upstream', message: options.signal?.aborted ? 'the run was interrupted' : 'the run stopped after a failure' }],
      });
    }
    const { lockChanged, written } = await executor.settle();
    const stages = names.map((n) => outcomes.get(n)!);
    const interrupted = Boolean(options.signal?.aborted);
    const ok = !interrupted && stages.every((s) => OK_STATES.has(s.status));
    const result: RunResult = { ok, dry: false, interrupted, durationMs: Date.now() - started, stages, lockChanged, written };
    await executor.end({ ok, interrupted, durationMs: result.durationMs, stages: stages.map((s) => ({ name: s.name, action: s.action, status: s.status })) });
    return result;
  } finally {
    env.memo.save();
    ctx.state.close();
    executor?.unlock();
  }
}

/** Deps of the selected stages that are missing here and that no selected stage writes. */
async function pullInputs(env: PlanEnv, graph: ReturnType<typeof buildGraph>, names: string[], pull: NonNullable<RunOptions['pull']>): Promise<void> {
  const selected = new Set(names);
  const missing = new Set<string>();
  for (const name of names) {
    const writers = [...graph.upstream.get(name)!].filter((n) => selected.has(n)).map((n) => env.pipeline.byName.get(n)!);
    for (const dep of env.pipeline.byName.get(name)!.deps) {
      if (writers.some((w) => w.outs.some((o) => o.path === dep.path || dep.path.startsWith(`${o.path}/`)))) continue;
      if (!env.memo.get(dep.path)) missing.add(dep.path);
    }
  }
  if (missing.size === 0) return;
  await pull.pullInputs([...missing]);
  for (const path of missing) env.memo.forget(path);
}

const OK_STATES = new Set<StageOutcome['status']>(['unchanged', 'frozen', 'ran', 'restored']);

/**
 * Starts the stages the scheduler lets start until none runs and none can start. Stages that turn out
 * unchanged finish synchronously, so a whole no-op pipeline settles in one pass without a promise per
 * stage; a stage that acts holds its slot until its promise settles (after its end hook and event).
 */
async function drive(scheduler: Scheduler, executor: StageExecutor, succeeded: (name: string) => boolean, signal?: AbortSignal): Promise<void> {
  const running = new Set<Promise<void>>();
  for (;;) {
    if (signal?.aborted) scheduler.stop();
    for (let name = scheduler.next(); name !== undefined; name = scheduler.next()) {
      scheduler.started(name);
      const acting = executor.stage(name);
      if (!acting) {
        scheduler.finished(name, succeeded(name));
        continue;
      }
      const settled: Promise<void> = acting.finally(() => {
        running.delete(settled);
        scheduler.finished(name, succeeded(name));
      });
      running.add(settled);
    }
    if (running.size === 0) return;
    await Promise.race(running);
  }
}
