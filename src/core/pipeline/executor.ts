/**
 * Carries out one stage of `mlo run` once the scheduler lets it start: compares it with its lock entry,
 * decides, then restores its outs from the cache, pulls them, or runs its command, and records mlo.lock.
 * It also holds what the stages of one run share: the repository lock, the tracking hooks, and one
 * queue for writes of the cache, mlo.lock and the state. Each stage ends in one outcome, reported.
 *
 * One module: every step of a stage closes over that per-run state (the lock, the hooks, the write queue) in createExecutor.
 */
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { MloError, isMloError } from '../../base/errors.js';
import { LOCK_FILE } from '../repo/names.js';
import type { Tracked } from '../data/tracked.js';
import { scanPath, type ScanContext } from '../data/workspace/scan.js';
import type { LockEntry, LockOutEntry } from '../data/lockfile.js';
import { assess, isUnchanged, type Assessment } from './changes.js';
import { runHooks, type RunSummary, type StageEndResult, type StageStartInfo } from './hooks.js';
import type { Stage } from './load.js';
import type { Decision, DecideOptions, PlanEnv } from './plan.js';
import type { RestoreSource, RunEvent, RunOptions, StageOutcome } from './runtypes.js';

/**
 * The modules a stage that restores, pulls or runs needs, loaded on first use: a no-op run never loads
 * them (with them come yaml, zod, execa and the checkout machinery, ~15 ms of module loading).
 */
let work: ReturnType<typeof importWork> | undefined;
function importWork() {
  return Promise.all([
    import('./plan.js'),
    import('../data/lockfile.js'),
    import('./runcache.js'),
    import('./exec.js'),
    import('../data/checkout.js'),
    import('../data/cache/manifest.js'),
    import('../repo/lock.js'),
    import('../data/workspace/gitignore.js'),
    import('../data/add.js'),
    import('./unprotect.js'),
    import('./owners.js'),
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

export interface ExecutorOptions {
  env: PlanEnv;
  run: RunOptions;
  decide: DecideOptions;
  /** The stages of this run, in run order. */
  names: string[];
  startedAt: number;
  /** Receives the outcome of each stage, as soon as it is known (before the stage's end hook). */
  report(outcome: StageOutcome): void;
  /** No further stage may start: the run ends with an error (the repository lock could not be taken). */
  halt(): void;
}

export interface StageExecutor {
  /**
   * Settles an unchanged stage synchronously (returns undefined); a stage with something to do is
   * decided and carried out asynchronously (returns its promise, which never rejects).
   */
  stage(name: string): Promise<void> | undefined;
  /**
   * Drops the invalid mlo.lock entries of stages no longer in mlo.yaml now, not at the next run that
   * writes mlo.lock: until then the data commands would refuse the file.
   */
  dropStaleEntries(): Promise<void>;
  /** Calls onRunStart now, though no stage may run its command (`hooksOnNoop`). */
  startRun(): Promise<unknown>;
  /** Waits for the writes in flight; then tells whether mlo.lock was rewritten, and what git should track. */
  settle(): Promise<{ lockChanged: boolean; written: string[] }>;
  /** Calls onRunEnd (when onRunStart was called), then throws the error that ended the run, if any. */
  end(summary: RunSummary): Promise<void>;
  /** Releases the repository lock, if this run took it. */
  unlock(): void;
}

export function createExecutor(options: ExecutorOptions): StageExecutor {
  const { env, run, decide, names, report } = options;
  const signal = run.signal ?? new AbortController().signal;
  const emit = (e: RunEvent) => run.onEvent?.(e);
  const hooks = runHooks(
    run.hooks,
    {
      root: env.repo.root,
      stages: names,
      targets: run.targets ?? [],
      force: Boolean(run.force),
      startedAt: new Date(options.startedAt).toISOString(),
    },
    (message) => emit({ type: 'warning', message }),
  );
  /** Set before any stage acts (see loadWork). */
  let w!: Work;
  let commitChain: Promise<unknown> = Promise.resolve();
  let lockChanged = false;
  /** Paths this run wrote that belong in git (see RunResult.written). */
  const written = new Set<string>();
  let unexpected: unknown;
  /** An error that ends the whole run (the repository lock could not be taken). */
  let fatal: unknown;
  let locking: Promise<void> | undefined;
  let release: (() => void) | undefined;
  /** Incremented when the lock is taken: assessments made before then are made again. */
  let lockGeneration = 0;
  let owners: ReturnType<Work['findOutOwners']> | undefined;

  /**
   * Takes the repository lock for the rest of the run (once; every stage that acts awaits it), then
   * reads mlo.lock again and forgets the hashes seen so far: another run may have written both while
   * this one waited.
   */
  function lock(): Promise<void> {
    locking ??= (async () => {
      release = await w.acquireRepoLock(env.repo, { command: 'run' });
      env.lock = w.readLock(env.repo);
      env.memo.clear();
      lockGeneration++;
    })();
    return locking;
  }

  /** Serializes writes of the cache, mlo.lock and the state within this process (the run holds the repository lock). */
  function commit<T>(fn: () => T): Promise<T> {
    const next = commitChain.then(fn);
    commitChain = next.catch(() => undefined);
    return next;
  }

  function writeEntry(name: string, entry: LockEntry): void {
    const doc = w.updateLock(env.repo, { [name]: entry }, (n) => env.pipeline.byName.has(n));
    env.lock.stages = doc.stages;
    lockChanged = true;
    written.add(LOCK_FILE);
  }

  /** An out put in place: git keeps an uncached one itself, and the .gitignore entry of a cached one. */
  function wroteOut(out: { path: string; cache?: boolean }): void {
    written.add(out.cache === false ? out.path : posix.join(posix.dirname(out.path), '.gitignore'));
  }

  function startStage(name: string): Promise<void> | undefined {
    const stage = env.pipeline.byName.get(name)!;
    const t0 = Date.now();
    try {
      const assessed = assess(env, stage, decide);
      if (!isUnchanged(assessed)) return act(stage, assessed, lockGeneration, t0);
      report({ name, action: 'none', status: assessed.frozen ? 'frozen' : 'unchanged', reasons: [] });
      emit({ type: 'skip', stage: name, frozen: assessed.frozen });
    } catch (err) {
      fail(stage, undefined, err, t0);
    }
    return undefined;
  }

  async function act(stage: Stage, assessed: Assessment, generation: number, t0: number): Promise<void> {
    let decision: Decision | undefined;
    try {
      w = await loadWork();
      try {
        await lock();
      } catch (err) {
        fatal ??= err;
        options.halt();
        report({
          name: stage.name,
          action: 'none',
          status: 'skipped',
          reasons: [{ kind: 'upstream', message: 'the repository is locked by another process' }],
        });
        return;
      }
      if (generation !== lockGeneration) assessed = assess(env, stage, decide);
      decision = w.decideFrom(env, stage, assessed, decide);
      if (decision.action === 'none') {
        report({ name: stage.name, action: 'none', status: decision.frozen ? 'frozen' : 'unchanged', reasons: [] });
        emit({ type: 'skip', stage: stage.name, frozen: Boolean(decision.frozen) });
        return;
      }
      // Looked up once per run, for every selected stage: one git process, however many stages act.
      owners ??= w.findOutOwners(
        env.repo,
        names.map((n) => env.pipeline.byName.get(n)!),
      );
      w.checkOutOwners(stage, owners, env.pipeline.where);
      if (decision.action === 'pull') {
        if (await pull(stage, decision)) return restored(stage, decision, 'remote', t0);
        decision = { ...decision, action: 'run', reasons: [...decision.reasons, { kind: 'out', message: 'the remote does not have the outs' }] };
      }
      if (decision.action === 'restore') {
        await restore(stage, decision.entry!, decision.restoreFrom === 'run-cache' ? decision : undefined);
        return restored(stage, decision, decision.restoreFrom!, t0);
      }
      await execute(stage, decision, t0);
    } catch (err) {
      fail(stage, decision, err, t0);
    }
  }

  function fail(stage: Stage, decision: Decision | undefined, err: unknown, t0: number): void {
    if (!isMloError(err)) unexpected ??= err;
    const e = isMloError(err) ? err : new MloError('MLO_INTERNAL', (err as Error).message);
    report({
      name: stage.name,
      action: decision?.action ?? 'run',
      status: 'failed',
      reasons: decision?.reasons ?? [],
      durationMs: Date.now() - t0,
      error: { code: e.code, message: e.message, hint: e.hint },
    });
    emit({ type: 'done', stage: stage.name, status: 'failed', durationMs: Date.now() - t0, error: e.message });
  }

  function restored(stage: Stage, decision: Decision, from: RestoreSource, t0: number): void {
    report({ name: stage.name, action: 'restore', status: 'restored', restoredFrom: from, reasons: decision.reasons, durationMs: Date.now() - t0 });
    emit({ type: 'restored', stage: stage.name, from, reasons: decision.reasons });
  }

  async function pull(stage: Stage, decision: Decision): Promise<boolean> {
    const entry = decision.entry!;
    const needed = w.outsToRestore(env, entry.outs);
    const targets = needed.map((o) => o.path);
    if (targets.length) {
      try {
        await run.pull!.fetchOutputs(targets);
      } catch (err) {
        // A remote that lacks some objects is not a failure here: the stage runs instead.
        if (!isMloError(err)) throw err;
        emit({ type: 'warning', message: `stage '${stage.name}': could not pull its outputs (${err.message}); running it instead` });
        return false;
      }
    }
    if (!w.outsInCache(env.ctx, needed)) return false;
    await restore(stage, entry, undefined);
    return true;
  }

  /** Puts `source`'s outs back from the cache; with `recordFor`, writes the stage's lock entry for its current inputs. */
  async function restore(stage: Stage, source: LockEntry, recordFor: Decision | undefined): Promise<void> {
    const { repo, ctx } = env;
    await commit(() => {
      const byPath = new Map(stage.outs.map((o) => [o.path, o]));
      const items = (outs: LockOutEntry[]): Tracked[] => outs.map((o) => ({ path: o.path, hash: o.hash, size: o.size, files: o.files, stage: stage.name }));
      const needed = w.outsToRestore(env, source.outs).filter((o) => byPath.has(o.path));
      const cached = needed.filter((o) => o.cache !== false);
      const uncached = needed.filter((o) => o.cache === false);
      const result = w.runCheckout(ctx, items(cached), { force: true });
      // Outs kept in git must be plain files the user may edit: never links into the cache.
      if (uncached.length) {
        const copyCtx: ScanContext = { ...ctx, repo: { ...repo, config: { ...repo.config, cache: { ...repo.config.cache, type: ['reflink', 'copy'] } } } };
        const r = w.runCheckout(copyCtx, items(uncached), { force: true });
        result.missing.push(...r.missing);
      }
      if (result.missing.length) {
        throw new MloError('MLO_MISSING_OBJECT', `stage '${stage.name}': cannot restore ${result.missing[0].path}: its content is not in the cache`, {
          hint: 'run the stage with mlo run --force',
        });
      }
      for (const o of source.outs) if (o.cache !== false) w.ignoreInGit(repo.root, o.path);
      for (const o of source.outs) wroteOut(o);
      for (const o of source.outs) env.memo.forget(o.path);
      if (recordFor)
        writeEntry(stage.name, { cmd: stage.cmd, ...envOf(stage), deps: recordFor.current.deps, params: recordFor.current.params, outs: source.outs });
    });
  }

  async function execute(stage: Stage, decision: Decision, t0: number): Promise<void> {
    const { repo } = env;
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
      name,
      cmd: stage.cmd,
      wdir: wdirAbs,
      deps: decision.current.deps,
      params: decision.current.params,
      outs: stage.outs.map((o) => o.path),
      metricsFiles: stage.outs.filter((o) => o.kind === 'metric').map((o) => o.path),
      reasons: decision.reasons,
    };
    const runEnv = await hooks.startRun();
    const hookEnv = await hooks.stageStart(info);
    emit({ type: 'start', stage: name, reasons: decision.reasons });
    for (const out of stage.outs) {
      if (!out.persist) rmSync(join(repo.root, out.path), { recursive: true, force: true });
      // A persistent out may be a hardlink or symlink to a read-only cache object: the command gets
      // its own writable copy, so an in-place append can neither fail nor corrupt the cache.
      else w.unprotect(repo, out.path);
      env.memo.forget(out.path);
      mkdirSync(dirname(join(repo.root, out.path)), { recursive: true });
    }
    const base: Record<string, string> = {};
    for (const [k, v] of Object.entries(run.baseEnv ?? {})) if (v !== undefined) base[k] = v;
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
    const r = await w.execCommands(stage.cmd, {
      cwd: wdirAbs,
      env: childEnv,
      signal,
      onLine: (stream, line) => emit({ type: 'output', stage: name, stream, line }),
    });
    if (r.leftovers)
      emit({
        type: 'warning',
        message: `stage '${name}': its command left processes running in the background; mlo ended them (a stage is done when its command exits)`,
      });
    const end = (status: StageEndResult['status'], outs: LockOutEntry[]) =>
      hooks.stageEnd(info, {
        status,
        durationMs: Date.now() - t0,
        exitCode: r.exitCode,
        deps: decision.current.deps,
        outs,
        params: decision.current.params,
        metricsFiles: info.metricsFiles,
      });
    if (r.interrupted || r.exitCode !== 0) {
      const status = r.interrupted ? 'interrupted' : 'failed';
      const error = r.interrupted
        ? new MloError('MLO_INTERRUPTED', `stage '${name}' was interrupted`)
        : commandError(stage, r.exitCode, r.failedAt ?? 0, r.signal);
      report({
        name,
        action: 'run',
        status,
        reasons: decision.reasons,
        durationMs: Date.now() - t0,
        exitCode: r.exitCode,
        error: { code: error.code, message: error.message, hint: error.hint },
      });
      await end(status, []);
      emit({ type: 'done', stage: name, status, durationMs: Date.now() - t0, exitCode: r.exitCode, error: error.message });
      return;
    }
    let outs: LockOutEntry[];
    try {
      outs = await commit(() => record(stage, decision));
    } catch (err) {
      await end('failed', []);
      throw err;
    }
    report({ name, action: 'run', status: 'ran', reasons: decision.reasons, durationMs: Date.now() - t0, exitCode: 0 });
    await end('succeeded', outs);
    emit({ type: 'done', stage: name, status: 'ran', durationMs: Date.now() - t0, exitCode: 0 });
  }

  /** Hashes and stores the outs, then writes the stage's lock entry and run-cache entry. */
  function record(stage: Stage, decision: Decision): LockOutEntry[] {
    const { repo, ctx } = env;
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
        w.storeManifest(repo.cacheDir, scanned.manifest);
        entry = { path: out.path, hash: scanned.manifest.hash, size: scanned.manifest.size, files: scanned.manifest.files };
      } else {
        entry = { path: out.path, hash: scanned.hash, size: scanned.size };
      }
      if (!out.cache) entry.cache = false;
      else {
        w.ignoreInGit(repo.root, out.path);
        // Linked per cache.type, as `mlo add` links added paths (outs kept in git stay plain files).
        w.relinkShared(ctx, out.path, scanned);
      }
      outs.push(entry);
      wroteOut(entry);
      env.memo.set(entry);
    }
    ctx.state.flush();
    const entry: LockEntry = { cmd: stage.cmd, ...envOf(stage), deps: decision.current.deps, params: decision.current.params, outs };
    writeEntry(stage.name, entry);
    if (decision.runCacheKey) w.writeRunCache(repo, decision.runCacheKey, entry);
    return outs;
  }

  return {
    stage: startStage,
    async dropStaleEntries() {
      const stale = () => Object.keys(env.lock.invalid ?? {}).filter((n) => !env.pipeline.byName.has(n));
      if (stale().length === 0) return;
      w = await loadWork();
      await lock();
      const dropped = stale();
      if (dropped.length === 0) return;
      for (const name of dropped) {
        emit({
          type: 'warning',
          message: `mlo.lock: dropped the entry of stage '${name}', which is no longer in mlo.yaml and is invalid (${env.lock.invalid![name]})`,
        });
      }
      env.lock = w.updateLock(env.repo, {}, (n) => env.pipeline.byName.has(n));
      lockChanged = true;
      written.add(LOCK_FILE);
    },
    startRun: () => hooks.startRun(),
    async settle() {
      await commitChain;
      return { lockChanged, written: [...written].sort() };
    },
    async end(summary) {
      await hooks.endRun(summary);
      if (unexpected) throw unexpected;
      if (fatal) throw fatal;
    },
    unlock() {
      release?.();
      release = undefined;
    },
  };
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
