/**
 * What to do with each stage: nothing (unchanged or frozen), restore its outs from the cache (they are
 * only missing or modified, or the run cache knows this exact run), pull them (--pull), or run it.
 * Shared by `mlo run` (decided per stage, right before it would run, once its upstream is done),
 * `mlo run --dry` and `mlo status` (decided for all stages up front).
 */
import { openScan } from '../data/workspace/scan.js';
import type { Repo } from '../repo/repo.js';
import type { ScanContext } from '../data/workspace/scan.js';
import { assess, envChanges, HashMemo, onlyOutsDiffer, preflight, type Assessment, type CurrentState, type Reason } from './changes.js';
import { buildGraph, selectStages, type Graph, type SelectOptions } from './dag.js';
import { loadPipeline, pipelineExists, type Pipeline, type Stage } from './load.js';
import { readLock, type LockDoc, type LockEntry, type LockOutEntry } from '../data/lockfile.js';
import { canUseRunCache, outsInCache, readRunCache, runCacheKey } from './runcache.js';
import { sameValue } from './params.js';
import { checkStagePaths } from './safety.js';
import { allTracked } from '../data/tracked.js';

export type Action = 'none' | 'run' | 'restore' | 'pull';

export interface Decision {
  action: Action;
  reasons: Reason[];
  frozen?: boolean;
  /** For restore: where the recorded outs come from. */
  restoreFrom?: 'lock' | 'run-cache';
  /** The entry whose outs are restored or pulled. */
  entry?: LockEntry;
  current: CurrentState;
  runCacheKey?: string;
}

export interface PlanEnv {
  repo: Repo;
  ctx: ScanContext;
  memo: HashMemo;
  pipeline: Pipeline;
  lock: LockDoc;
}

export interface DecideOptions {
  force?: boolean;
  pull?: boolean;
  /** Look the run up in the run cache (off with --force or --no-run-cache). */
  runCache?: boolean;
}

export function decide(env: PlanEnv, stage: Stage, options: DecideOptions): Decision {
  return decideFrom(env, stage, assess(env, stage, options), options);
}

/** The action for a stage already compared with its lock entry (`assess`). */
export function decideFrom(env: PlanEnv, stage: Stage, assessed: Assessment, options: DecideOptions): Decision {
  const { current, entry, reasons, outs } = assessed;
  if (assessed.frozen) return { action: 'none', reasons: [], frozen: true, current };
  if (reasons.length === 0 && outs.length === 0) return { action: 'none', reasons, current };
  if (reasons.length === 0 && entry && onlyOutsDiffer(outs)) {
    const needed = outsToRestore(env, entry.outs);
    if (outsInCache(env.ctx, needed)) return { action: 'restore', reasons: outs, restoreFrom: 'lock', entry, current };
    // Uncached outs are in git, not on the remote: pulling helps only when the cached ones are missing.
    if (options.pull && needed.every((o) => o.cache !== false)) return { action: 'pull', reasons: outs, entry, current };
    return { action: 'run', reasons: [...outs, { kind: 'out', message: 'outs are not in the cache' }], current };
  }
  const all = [...reasons, ...outs];
  if (options.runCache !== false && !options.force && canUseRunCache(stage) && current.missing.length === 0) {
    const key = runCacheKey(stage, current.deps, current.params);
    const cached = readRunCache(env.repo, key);
    if (cached && sameValue(cached.cmd, stage.cmd) && envChanges(cached.env, stage.env).length === 0 && outsInCache(env.ctx, outsToRestore(env, cached.outs))) {
      return { action: 'restore', reasons: all, restoreFrom: 'run-cache', entry: cached, current, runCacheKey: key };
    }
    return { action: 'run', reasons: all, current, runCacheKey: key };
  }
  return { action: 'run', reasons: all, current };
}

/** The recorded outs the workspace does not hold as recorded (the ones a restore has to write). */
export function outsToRestore(env: PlanEnv, outs: LockOutEntry[]): LockOutEntry[] {
  return outs.filter((o) => env.memo.get(o.path)?.hash !== o.hash);
}

export { preflight };

export interface PlannedStage {
  name: string;
  action: Action;
  frozen: boolean;
  restoreFrom?: 'lock' | 'run-cache';
  reasons: Reason[];
}

/** Decides every selected stage up front; a stage downstream of one that will run or restore runs too. */
export function planStages(env: PlanEnv, graph: Graph, names: string[], options: DecideOptions): PlannedStage[] {
  const byName = new Map<string, PlannedStage>();
  const plan: PlannedStage[] = [];
  for (const name of names) {
    const stage = env.pipeline.byName.get(name)!;
    const d = decide(env, stage, options);
    const p: PlannedStage = { name, action: d.action, frozen: Boolean(d.frozen), restoreFrom: d.restoreFrom, reasons: d.reasons };
    if (!d.frozen) {
      const busy = [...graph.upstream.get(name)!].filter((u) => byName.get(u) && byName.get(u)!.action !== 'none');
      if (busy.length) {
        if (p.action === 'none' || p.action === 'restore') {
          p.action = 'run';
          p.restoreFrom = undefined;
        }
        const verb = (u: string) => (byName.get(u)!.action === 'pull' ? 'will be pulled' : 'will run');
        p.reasons = [...p.reasons, ...busy.map((u) => ({ kind: 'upstream' as const, path: u, message: `upstream stage '${u}' ${verb(u)}` }))];
      }
    }
    byName.set(name, p);
    plan.push(p);
  }
  return plan;
}

export interface StageStatusEntry {
  name: string;
  /** `mlo run` would do something: run it, restore its outs, or pull them. */
  changed: boolean;
  /**
   * mlo.lock no longer describes the stage: its command, deps, params, env or declared outs changed, or an
   * upstream stage is stale. False when only its outs are missing or modified (checkout or pull restores
   * them) and for `always_changed` stages, so a CI gate on it fails only on work left undone.
   */
  stale: boolean;
  frozen: boolean;
  /** 'pull' when the outs are recorded in mlo.lock but missing from the cache (`mlo pull` fetches them). */
  action: Action;
  reasons: Reason[];
}

/** `mlo status`'s stages section: every stage that would do something on `mlo run`, and why. */
export function pipelineStatus(repo: Repo, options: { targets?: string[] } = {}): StageStatusEntry[] {
  if (!pipelineExists(repo)) return [];
  const pipeline = loadPipeline(repo);
  const graph = buildGraph(pipeline);
  const names = selectStages(graph, options.targets ?? []);
  checkStagePaths(
    repo.root,
    names.map((n) => pipeline.byName.get(n)!),
    pipeline.where,
  );
  const ctx = openScan(repo);
  try {
    const env: PlanEnv = { repo, ctx, memo: new HashMemo(ctx), pipeline, lock: readLock(repo) };
    // pull: true only labels the stages whose recorded outs a pull would bring back; nothing is fetched.
    const plan = planStages(env, graph, names, { runCache: false, pull: true });
    env.memo.save();
    // A fresh clone lacks the `mlo add`-ed deps as well as the outs: a dep whose recorded content is what
    // mlo.lock ran with comes back with `mlo pull`, so it makes the stage neither stale nor a re-run.
    // Read only when some dep is missing: listing every pointer costs a git ls-files on a plain status.
    let recordedMap: Map<string, string> | undefined;
    const recorded = () => (recordedMap ??= new Map(allTracked(repo).map((t) => [t.path, t.hash])));
    const pulls = new Set<string>();
    const stale = new Set<string>();
    // The plan is in topological order, so an upstream stage is judged before the stages that use it.
    for (const p of plan) {
      const entry = env.lock.stages[p.name];
      const pullable = (r: Reason) =>
        r.kind === 'dep' && r.change === 'missing' && entry?.deps.some((d) => d.path === r.path && recorded().get(d.path) === d.hash);
      if (p.reasons.some((r) => !pullable(r) && makesStale(r, stale))) stale.add(p.name);
      const restorable = (r: Reason) =>
        pullable(r) || (r.kind === 'upstream' ? pulls.has(r.path ?? '') : r.kind === 'out' && r.change !== 'added' && r.change !== 'removed');
      const cachedOuts = entry?.outs.every((o) => o.cache !== false || p.reasons.every((r) => r.path !== o.path));
      if (p.action === 'run' && !stale.has(p.name) && cachedOuts && p.reasons.length > 0 && p.reasons.every(restorable)) p.action = 'pull';
      if (p.action === 'pull') pulls.add(p.name);
    }
    return plan.map((p) => ({
      name: p.name,
      changed: p.action !== 'none',
      stale: stale.has(p.name),
      frozen: p.frozen,
      action: p.action,
      reasons: p.reasons,
    }));
  } finally {
    ctx.state.close();
  }
}

/** Whether a reason to run means mlo.lock is out of date (see StageStatusEntry.stale). */
function makesStale(r: Reason, stale: Set<string>): boolean {
  if (r.kind === 'upstream') return r.path !== undefined && stale.has(r.path);
  if (r.kind === 'out') return r.change !== 'missing' && r.change !== 'modified' && r.change !== undefined;
  return r.kind !== 'always-changed' && r.kind !== 'forced';
}

export type { SelectOptions };
