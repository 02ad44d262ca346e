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
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MloError, isMloError } from '../../base/errors.js';
import type { Repo } from '../repo/repo.js';
import type { Tracked } from '../data/tracked.js';
import { openScan, scanPath, type ScanContext } from '../data/workspace/scan.js';
import { assess, HashMemo, isUnchanged, preflight, type Assessment, type Reason } from './changes.js';
import { buildGraph, selectStages } from './dag.js';
import type { PipelineHooks, RunStartInfo, RunSummary, StageEndResult, StageStartInfo } from './hooks.js';
import type { Stage } from './load.js';
import type { LockEntry, LockOutEntry } from '../data/lockfile.js';
import { openLock, openPipeline } from './open.js';
import type { Action, Decision, PlanEnv } from './plan.js';
import { checkStagePaths } from './safety.js';

/**
 * The modules a stage that restores, pulls or runs needs, loaded on first use: a no-op run never loads
 * them (with them come yaml, zod, execa and the checkout machinery, ~15 ms of module loading).
 */
let work: ReturnType<typeof importWork> | undefined;
function importWork() {
  return Promise.all([
    import('./plan.js'), import('../data/lockfile.js'), import('./runcache.js'), import('./exec.js'),
    import('../data/checkout.js'), import('../data/cache/manifest.js'), import('../repo/lock.js'), import('../data/workspace/gitignore.js'),
    import('../data/add.js'), import('./unprotect.js'), import('./owners.js'),
  ]).then(([plan, lockfile, runcache, exec, checkout, manifest, lock, gitignore, add, unprotect, owners]) => ({
    decideFrom: plan.decideFrom,
    outsToRestore: plan.outsToRestore,
    readLock: lockfile.readLock,
    updateLock: lockfile.updateLock,
    outsInCache: runcache.outsInCache,
    writeRunCache: runcache.writeRunCache,
    execCommands: exec.execCommands,
    runCheckout: checkout.runCheckout,
    storeManifest: manifest.storeManifest,
    acquireRepoLock: lock.acquireRepoLock,
    ignoreInGit: gitignore.ignoreInGit,
    relinkShared: add.relinkShared,
    unprotect: unprotect.unprotect,
    findOutOwners: owners.findOutOwners,
    checkOutOwners: owners.checkOutOwners,
  }));
}
const loadWork = () => (work ??= importWork());
type Work = Awaited<ReturnType<typeof importWork>>;

export interface RunOptions {
  /** Stage names (or foreach group names); none means every stage. */
  targets?: string[];
  force?: boolean;
  /** Decide and report, change nothing. */
  dry?: boolean;
  singleItem?: boolean;
  downstream?: boolean;
  keepGoing?: boolean;
  /**
   * Try the remote before running a stage: `fetchOutputs` downloads the named outs into the cache.
   * The pipeline layer sits below sync, so the caller (the CLI) supplies the download.
   */
  pull?: { fetchOutputs(targets: string[]): Promise<void> };
  /** Stages run at the same time (default 1). */
  jobs?: number;
  /** Do not restore outs from the run cache. */
  noRunCache?: boolean;
  /** Aborting ends the running commands' process groups; no further stage starts. */
  signal?: AbortSignal;
  hooks?: PipelineHooks;
  /**
   * Call onRunStart/onRunEnd even when no stage runs its command. Off by default: a no-op `mlo run`
   * records nothing and stays cheap; `mlo exp run` turns it on to record every experiment.
   */
  hooksOnNoop?: boolean;
  /** Environment the commands inherit (the command passes process.env). */
  baseEnv?: Record<string, string | undefined>;
  onEvent?: (event: RunEvent) => void;
}

export type RestoreSource = 'lock' | 'run-cache' | 'remote';

export type RunEvent =
  | { type: 'skip'; stage: string; frozen: boolean }
  | { type: 'start'; stage: string; reasons: Reason[] }
  | { type: 'output'; stage: string; stream: 'stdout' | 'stderr'; line: string }
  | { type: 'restored'; stage: string; from: RestoreSource; reasons: Reason[] }
  | { type: 'done'; stage: string; status: StageOutcome['status']; durationMs: number; exitCode?: number; error?: string }
  | { type: 'warning'; message: string };

export interface StageOutcome {
  name: string;
  action: Action;
  /**
   * unchanged / frozen: nothing to do; ran / restored: done; failed / interrupted: the command failed
   * or was stopped; skipped: not started because an upstream stage failed or the run stopped;
   * planned: --dry.
   */
  status: 'unchanged' | 'frozen' | 'ran' | 'restored' | 'failed' | 'interrupted' | 'skipped' | 'planned';
  reasons: Reason[];
  restoredFrom?: RestoreSource;
  durationMs?: number;
  exitCode?: number;
  error?: { code: string; message: string; hint?: string };
}

export interface RunResult {
  ok: boolean;
  dry: boolean;
  interrupted: boolean;
  durationMs: number;
  stages: StageOutcome[];
  /** True when mlo.lock was rewritten. */
  lockChanged: boolean;
}

export async function runPipeline(repo: Repo, options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const pipeline = await openPipeline(repo);
  const graph = buildGraph(pipeline);
  const names = selectStages(graph, options.targets ?? [], { singleItem: options.singleItem, downstream: options.downstream });
  const ctx = openScan(repo);
  const env: PlanEnv = { repo, ctx, memo: new HashMemo(ctx), pipeline, lock: await openLock(repo) };
  const decideOptions = { force: options.force, pull: Boolean(options.pull), runCache: !options.noRunCache };
  let runner: Runner | undefined;
  try {
    checkStagePaths(repo.root, names.map((n) => pipeline.byName.get(n)!), pipeline.where);
    preflight(env, graph, names);
    if (options.dry) {
      const plan = (await import('./plan.js')).planStages(env, graph, names, decideOptions);
      return {
        ok: true, dry: true, interrupted: false, durationMs: Date.now() - started, lockChanged: false,
        stages: plan.map((p) => ({
          name: p.name, action: p.action, reasons: p.reasons, restoredFrom: p.restoreFrom,
          status: p.frozen ? 'frozen' : p.action === 'none' ? 'unchanged' : 'planned',
        })),
      };
    }
    runner = new Runner(env, options, decideOptions);
    return await runner.run(names, graph.upstream, started);
  } finally {
    env.memo.save();
    ctx.state.close();
    runner?.unlock();
  }
}

class Runner {
  private readonly outcomes = new Map<string, StageOutcome>();
  private commitChain: Promise<unknown> = Promise.resolve();
  private runStart: Promise<Record<string, string>> | undefined;
  private runInfo!: RunStartInfo;
  private lockChanged = false;
  private stopping = false;
  private unexpected: unknown;
  /** An error that ends the whole run (the repository lock could not be taken). */
  private fatal: unknown;
  private locking: Promise<void> | undefined;
  private release: (() => void) | undefined;
  /** Incremented when the lock is taken: assessments made before then are made again. */
  private lockGeneration = 0;
  private owners: ReturnType<Work['findOutOwners']> | undefined;
  private names: string[] = [];
  private readonly signal: AbortSignal;
  /** Set before any stage acts (see loadWork). */
  private work!: Work;

  constructor(
    private readonly env: PlanEnv,
    private readonly options: RunOptions,
    private readonly decideOptions: { force?: boolean; pull?: boolean; runCache?: boolean },
  ) {
    this.signal = options.signal ?? new AbortController().signal;
  }

  private emit(e: RunEvent): void {
    this.options.onEvent?.(e);
  }

  private async hook<T>(name: string, fn: (() => Promise<T>) | undefined): Promise<T | undefined> {
    if (!fn) return undefined;
    try {
      return await fn();
    } catch (err) {
      this.emit({ type: 'warning', message: `tracking hook ${name} failed: ${(err as Error).message}` });
      return undefined;
    }
  }

  async run(names: string[], upstream: Map<string, Set<string>>, started: number): Promise<RunResult> {
    const { hooks } = this.options;
    this.runInfo = { root: this.env.repo.root, stages: names, targets: this.options.targets ?? [], force: Boolean(this.options.force), startedAt: new Date(started).toISOString() };
    this.names = names;
    if (this.env.lock.invalid) await this.dropStaleEntries();
    if (this.options.hooksOnNoop) await this.startRun();
    const jobs = Math.max(1, this.options.jobs ?? 1);
    const selected = new Set(names);
    const ups = new Map(names.map((n) => [n, [...upstream.get(n)!].filter((u) => selected.has(u))]));
    let pending = names;
    const running = new Map<string, Promise<void>>();
    const okStates = new Set(['unchanged', 'frozen', 'ran', 'restored']);
    const failed = (name: string) => {
      const status = this.outcomes.get(name)?.status;
      return status === 'failed' || status === 'interrupted';
    };
    for (;;) {
      if (this.signal.aborted) this.stopping = true;
      // Stages that turn out unchanged finish synchronously, so one sweep in topological order settles
      // a whole no-op pipeline without a promise per stage; sweeps repeat while they make progress.
      for (let progress = true; progress && !this.stopping && running.size < jobs; ) {
        progress = false;
        const waiting: string[] = [];
        for (const name of pending) {
          if (this.stopping || running.size >= jobs) {
            waiting.push(name);
            continue;
          }
          const mine = ups.get(name)!;
          const blocked = mine.find((u) => this.outcomes.has(u) && !okStates.has(this.outcomes.get(u)!.status));
          if (blocked) {
            this.outcomes.set(name, { name, action: 'none', status: 'skipped', reasons: [{ kind: 'upstream', path: blocked, message: `upstream stage '${blocked}' did not succeed` }] });
            progress = true;
            continue;
          }
          if (!mine.every((u) => this.outcomes.has(u))) {
            waiting.push(name);
            continue;
          }
          progress = true;
          const p = this.stage(name);
          if (p) running.set(name, p.finally(() => running.delete(name)));
          else if (failed(name) && !this.options.keepGoing) this.stopping = true;
        }
        pending = waiting;
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
      if (!this.options.keepGoing && [...this.outcomes.keys()].some(failed)) this.stopping = true;
    }
    for (const name of pending) {
      this.outcomes.set(name, { name, action: 'none', status: 'skipped', reasons: [{ kind: 'upstream', message: this.signal.aborted ? 'the run was interrupted' : 'the run stopped after a failure' }] });
    }
    await this.commitChain;
    const stages = names.map((n) => this.outcomes.get(n)!);
    const interrupted = this.signal.aborted;
    const ok = !interrupted && stages.every((s) => okStates.has(s.status));
    const result: RunResult = { ok, dry: false, interrupted, durationMs: Date.now() - started, stages, lockChanged: this.lockChanged };
    const summary: RunSummary = { ok, interrupted, durationMs: result.durationMs, stages: stages.map((s) => ({ name: s.name, action: s.action, status: s.status })) };
    if (this.runStart) await this.hook('onRunEnd', hooks?.onRunEnd && (() => hooks.onRunEnd!(summary)));
    if (this.unexpected) throw this.unexpected;
    if (this.fatal) throw this.fatal;
    return result;
  }

  /**
   * Takes the repository lock for the rest of the run (once; every stage that acts awaits it), then
   * reads mlo.lock again and forgets the hashes seen so far: another run may have written both while
   * this one waited.
   */
  private lock(): Promise<void> {
    this.locking ??= (async () => {
      this.release = await this.work.acquireRepoLock(this.env.repo, { command: 'run' });
      this.env.lock = this.work.readLock(this.env.repo);
      this.env.memo.clear();
      this.lockGeneration++;
    })();
    return this.locking;
  }

  /** Releases the repository lock, if this run took it. */
  unlock(): void {
    this.release?.();
    this.release = undefined;
  }

  /**
   * An invalid mlo.lock entry of a stage that is no longer in mlo.yaml is dropped now, not at the next
   * run that writes mlo.lock: until then the data commands would refuse the file.
   */
  private async dropStaleEntries(): Promise<void> {
    const stale = () => Object.keys(this.env.lock.invalid ?? {}).filter((n) => !this.env.pipeline.byName.has(n));
    if (stale().length === 0) return;
    this.work = await loadWork();
    await this.lock();
    const dropped = stale();
    if (dropped.length === 0) return;
    for (const name of dropped) {
      this.emit({ type: 'warning', message: `mlo.lock: dropped the entry of stage '${name}', which is no longer in mlo.yaml and is invalid (${this.env.lock.invalid![name]})` });
    }
    const doc = this.work.updateLock(this.env.repo, {}, (n) => this.env.pipeline.byName.has(n));
    this.env.lock = doc;
    this.lockChanged = true;
  }

  /** onRunStart, called once, before the first stage that runs its command; its env goes to every stage. */
  private startRun(): Promise<Record<string, string>> {
    const { hooks } = this.options;
    this.runStart ??= this.hook('onRunStart', hooks?.onRunStart && (() => hooks.onRunStart!(this.runInfo))).then((env) => env ?? {});
    return this.runStart;
  }

  /**
   * Settles an unchanged stage synchronously (returns undefined); a stage with something to do is
   * decided and carried out asynchronously (returns its promise).
   */
  private stage(name: string): Promise<void> | undefined {
    const stage = this.env.pipeline.byName.get(name)!;
    const t0 = Date.now();
    try {
      const assessed = assess(this.env, stage, this.decideOptions);
      if (!isUnchanged(assessed)) return this.act(stage, assessed, this.lockGeneration, t0);
      this.outcomes.set(name, { name, action: 'none', status: assessed.frozen ? 'frozen' : 'unchanged', reasons: [] });
      this.emit({ type: 'skip', stage: name, frozen: assessed.frozen });
    } catch (err) {
      this.fail(stage, undefined, err, t0);
    }
    return undefined;
  }

  private async act(stage: Stage, assessed: Assessment, generation: number, t0: number): Promise<void> {
    let decision: Decision | undefined;
    try {
      this.work = await loadWork();
      try {
        await this.lock();
      } catch (err) {
        this.fatal ??= err;
        this.stopping = true;
        this.outcomes.set(stage.name, { name: stage.name, action: 'none', status: 'skipped', reasons: [{ kind: 'upstream', message: 'the repository is locked by another process' }] });
        return;
      }
      if (generation !== this.lockGeneration) assessed = assess(this.env, stage, this.decideOptions);
      decision = this.work.decideFrom(this.env, stage, assessed, this.decideOptions);
      if (decision.action === 'none') {
        this.outcomes.set(stage.name, { name: stage.name, action: 'none', status: decision.frozen ? 'frozen' : 'unchanged', reasons: [] });
        this.emit({ type: 'skip', stage: stage.name, frozen: Boolean(decision.frozen) });
        return;
      }
      // Looked up once per run, for every selected stage: one git process, however many stages act.
      this.owners ??= this.work.findOutOwners(this.env.repo, this.names.map((n) => this.env.pipeline.byName.get(n)!));
      this.work.checkOutOwners(stage, this.owners, this.env.pipeline.where);
      if (decision.action === 'pull') {
        if (await this.pull(stage, decision)) return this.restored(stage, decision, 'remote', t0);
        decision = { ...decision, action: 'run', reasons: [...decision.reasons, { kind: 'out', message: 'the remote does not have the outs' }] };
      }
      if (decision.action === 'restore') {
        await this.restore(stage, decision.entry!, decision.restoreFrom === 'run-cache' ? decision : undefined);
        return this.restored(stage, decision, decision.restoreFrom!, t0);
      }
      await this.execute(stage, decision, t0);
    } catch (err) {
      this.fail(stage, decision, err, t0);
    }
  }

  private fail(stage: Stage, decision: Decision | undefined, err: unknown, t0: number): void {
    if (!isMloError(err)) this.unexpected ??= err;
    const e = isMloError(err) ? err : new MloError('MLO_INTERNAL', (err as Error).message);
    this.outcomes.set(stage.name, {
      name: stage.name, action: decision?.action ?? 'run', status: 'failed', reasons: decision?.reasons ?? [], durationMs: Date.now() - t0,
      error: { code: e.code, message: e.message, hint: e.hint },
    });
    this.emit({ type: 'done', stage: stage.name, status: 'failed', durationMs: Date.now() - t0, error: e.message });
  }

  private restored(stage: Stage, decision: Decision, from: RestoreSource, t0: number): void {
    this.outcomes.set(stage.name, { name: stage.name, action: 'restore', status: 'restored', restoredFrom: from, reasons: decision.reasons, durationMs: Date.now() - t0 });
    this.emit({ type: 'restored', stage: stage.name, from, reasons: decision.reasons });
  }

  private async pull(stage: Stage, decision: Decision): Promise<boolean> {
    const entry = decision.entry!;
    const needed = this.work.outsToRestore(this.env, entry.outs);
    const targets = needed.map((o) => o.path);
    if (targets.length) {
      try {
        await this.options.pull!.fetchOutputs(targets);
      } catch (err) {
        // A remote that lacks some objects is not a failure here: the stage runs instead.
        if (!isMloError(err)) throw err;
        this.emit({ type: 'warning', message: `stage '${stage.name}': could not pull its outputs (${err.message}); running it instead` });
        return false;
      }
    }
    if (!this.work.outsInCache(this.env.ctx, needed)) return false;
    await this.restore(stage, entry, undefined);
    return true;
  }

  /** Serializes writes of the cache, mlo.lock and the state within this process (the run holds the repository lock). */
  private commit<T>(fn: () => T): Promise<T> {
    const next = this.commitChain.then(fn);
    this.commitChain = next.catch(() => undefined);
    return next;
  }

  /** Puts `source`'s outs back from the cache; with `record`, writes the stage's lock entry for the current inputs. */
  private async restore(stage: Stage, source: LockEntry, record: Decision | undefined): Promise<void> {
    const { repo, ctx } = this.env;
    await this.commit(() => {
      const byPath = new Map(stage.outs.map((o) => [o.path, o]));
      const items = (outs: LockOutEntry[]): Tracked[] => outs.map((o) => ({ path: o.path, hash: o.hash, size: o.size, files: o.files, stage: stage.name }));
      const needed = this.work.outsToRestore(this.env, source.outs).filter((o) => byPath.has(o.path));
      const cached = needed.filter((o) => o.cache !== false);
      const uncached = needed.filter((o) => o.cache === false);
      const result = this.work.runCheckout(ctx, items(cached), { force: true });
      // Outs kept in git must be plain files the user may edit: never links into the cache.
      if (uncached.length) {
        const copyCtx: ScanContext = { ...ctx, repo: { ...repo, config: { ...repo.config, cache: { ...repo.config.cache, type: ['reflink', 'copy'] } } } };
        const r = this.work.runCheckout(copyCtx, items(uncached), { force: true });
        result.missing.push(...r.missing);
      }
      if (result.missing.length) {
        throw new MloError('MLO_MISSING_OBJECT', `stage '${stage.name}': cannot restore ${result.missing[0].path}: its content is not in the cache`, { hint: 'run the stage with mlo run --force' });
      }
      for (const o of source.outs) if (o.cache !== false) this.work.ignoreInGit(repo.root, o.path);
      for (const o of source.outs) this.env.memo.forget(o.path);
      if (record) this.writeEntry(stage.name, { cmd: stage.cmd, ...envOf(stage), deps: record.current.deps, params: record.current.params, outs: source.outs });
    });
  }

  private writeEntry(name: string, entry: LockEntry): void {
    const doc = this.work.updateLock(this.env.repo, { [name]: entry }, (n) => this.env.pipeline.byName.has(n));
    this.env.lock.stages = doc.stages;
    this.lockChanged = true;
  }

  private async execute(stage: Stage, decision: Decision, t0: number): Promise<void> {
    const { repo } = this.env;
    const name = stage.name;
    if (decision.current.missing.length) {
      throw new MloError('MLO_MISSING_DEP', `stage '${name}': dep '${decision.current.missing[0]}' does not exist`, {
        hint: 'the stage that writes it did not create it, or the file was removed; check mlo.yaml',
      });
    }
    const wdirAbs = join(repo.root, stage.wdir);
    if (!existsSync(wdirAbs) || !statSync(wdirAbs).isDirectory()) {
      throw new MloError('MLO_NOT_FOUND', `stage '${name}': working directory '${stage.wdir}' does not exist`);
    }
    const info: StageStartInfo = {
      name, cmd: stage.cmd, wdir: wdirAbs, deps: decision.current.deps, params: decision.current.params,
      outs: stage.outs.map((o) => o.path), metricsFiles: stage.outs.filter((o) => o.kind === 'metric').map((o) => o.path), reasons: decision.reasons,
    };
    const { hooks } = this.options;
    const runEnv = await this.startRun();
    const hookEnv = (await this.hook('onStageStart', hooks?.onStageStart && (() => hooks.onStageStart!(info)))) ?? {};
    this.emit({ type: 'start', stage: name, reasons: decision.reasons });
    for (const out of stage.outs) {
      if (!out.persist) rmSync(join(repo.root, out.path), { recursive: true, force: true });
      // A persistent out may be a hardlink or symlink to a read-only cache object: the command gets
      // its own writable copy, so an in-place append can neither fail nor corrupt the cache.
      else this.work.unprotect(repo, out.path);
      this.env.memo.forget(out.path);
      mkdirSync(dirname(join(repo.root, out.path)), { recursive: true });
    }
    const base: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.options.baseEnv ?? {})) if (v !== undefined) base[k] = v;
    const childEnv = {
      ...base,
      ...stage.env,
      MLO_STAGE: name,
      MLO_ROOT: repo.root,
      MLO_WDIR: wdirAbs,
      MLO_PARAMS: JSON.stringify(decision.current.params),
      MLO_METRICS_FILES: info.metricsFiles.join(','),
      ...runEnv,
      ...hookEnv,
    };
    const r = await this.work.execCommands(stage.cmd, {
      cwd: wdirAbs,
      env: childEnv,
      signal: this.signal,
      onLine: (stream, line) => this.emit({ type: 'output', stage: name, stream, line }),
    });
    if (r.leftovers) this.emit({ type: 'warning', message: `stage '${name}': its command left processes running in the background; mlo ended them (a stage is done when its command exits)` });
    const end = (status: StageEndResult['status'], outs: LockOutEntry[]) =>
      this.hook('onStageEnd', hooks?.onStageEnd && (() => hooks.onStageEnd!(info, {
        status, durationMs: Date.now() - t0, exitCode: r.exitCode, deps: decision.current.deps, outs, params: decision.current.params, metricsFiles: info.metricsFiles,
      })));
    if (r.interrupted || r.exitCode !== 0) {
      const status = r.interrupted ? 'interrupted' : 'failed';
      const error = r.interrupted ? new MloError('MLO_INTERRUPTED', `stage '${name}' was interrupted`) : commandError(stage, r.exitCode, r.failedAt ?? 0, r.signal);
      this.outcomes.set(name, {
        name, action: 'run', status, reasons: decision.reasons, durationMs: Date.now() - t0, exitCode: r.exitCode,
        error: { code: error.code, message: error.message, hint: error.hint },
      });
      await end(status, []);
      this.emit({ type: 'done', stage: name, status, durationMs: Date.now() - t0, exitCode: r.exitCode, error: error.message });
      return;
    }
    let outs: LockOutEntry[];
    try {
      outs = await this.commit(() => this.record(stage, decision));
    } catch (err) {
      await end('failed', []);
      throw err;
    }
    this.outcomes.set(name, { name, action: 'run', status: 'ran', reasons: decision.reasons, durationMs: Date.now() - t0, exitCode: 0 });
    await end('succeeded', outs);
    this.emit({ type: 'done', stage: name, status: 'ran', durationMs: Date.now() - t0, exitCode: 0 });
  }

  /** Hashes and stores the outs, then writes the stage's lock entry and run-cache entry. */
  private record(stage: Stage, decision: Decision): LockOutEntry[] {
    const { repo, ctx } = this.env;
    const outs: LockOutEntry[] = [];
    for (const out of stage.outs) {
      // Uncached outs are stored too, so the run cache can give them back; they stay plain files in git.
      const scanned = scanPath(ctx, out.path, { store: true });
      if (!scanned) {
        throw new MloError('MLO_MISSING_OUT', `stage '${stage.name}' succeeded but did not write its out '${out.path}'`, {
          hint: 'make the command write that path, or remove it from the stage outs in mlo.yaml',
          meta: { stage: stage.name, out: out.path },
        });
      }
      let entry: LockOutEntry;
      if (scanned.kind === 'dir') {
        this.work.storeManifest(repo.cacheDir, scanned.manifest);
        entry = { path: out.path, hash: scanned.manifest.hash, size: scanned.manifest.size, files: scanned.manifest.files };
      } else {
        entry = { path: out.path, hash: scanned.hash, size: scanned.size };
      }
      if (!out.cache) entry.cache = false;
      else {
        this.work.ignoreInGit(repo.root, out.path);
        // Linked per cache.type, as `mlo add` links added paths (outs kept in git stay plain files).
        this.work.relinkShared(ctx, out.path, scanned);
      }
      outs.push(entry);
      this.env.memo.set(entry);
    }
    ctx.state.flush();
    const entry: LockEntry = { cmd: stage.cmd, ...envOf(stage), deps: decision.current.deps, params: decision.current.params, outs };
    this.writeEntry(stage.name, entry);
    if (decision.runCacheKey) this.work.writeRunCache(repo, decision.runCacheKey, entry);
    return outs;
  }
}

/** The stage's env as its lock entry records it: only when it has one, so other entries stay as they were. */
function envOf(stage: Stage): { env?: Record<string, string> } {
  return Object.keys(stage.env).length ? { env: stage.env } : {};
}

function commandError(stage: Stage, exitCode: number, failedAt: number, signal?: string): MloError {
  const cmd = Array.isArray(stage.cmd) ? stage.cmd[failedAt] : stage.cmd;
  if (exitCode === 127) {
    return new MloError('MLO_COMMAND_NOT_FOUND', `stage '${stage.name}': command not found (exit 127): ${cmd}`, {
      hint: 'check the program name in the stage cmd in mlo.yaml, and that it is installed and on PATH',
    });
  }
  if (signal) return new MloError('MLO_STAGE_FAILED', `stage '${stage.name}' was killed by ${signal}: ${cmd}`);
  return new MloError('MLO_STAGE_FAILED', `stage '${stage.name}' failed with exit code ${exitCode}: ${cmd}`, {
    hint: 'its output is above; fix the problem and run mlo run again (finished stages are not re-run)',
  });
}
