import type { PipelineHooks } from '../../core/pipeline/hooks.js';
import { runPipeline, type RunEvent, type RunResult, type StageOutcome } from '../../core/pipeline/run.js';
import type { Reason } from '../../core/pipeline/changes.js';
import { EXIT, isErrorCode, isMloError, MloError } from '../../base/errors.js';
import type { Repo } from '../../core/repo/repo.js';
import type { GitTracking } from '../../core/data/to-track.js';
import { PIPELINE_FILE } from '../../core/repo/names.js';
import { gitHint } from '../git-hint.js';
import { commandRepo } from '../repo.js';
import type { ActionContext } from '../action.js';
import type { RunFlags } from '../options.js';
import { displayWidth, pad, stderrColor, stdoutColor, type Output } from '../output.js';
import { plural } from '../../base/plural.js';

export async function run({ out, flags, opts }: ActionContext<RunFlags>, targets: string[]): Promise<void> {
  const repo = commandRepo(flags);
  const controller = new AbortController();
  const onSignal = () => {
    out.warn('interrupted: stopping the running stages (finished stages stay recorded in mlo.lock)');
    controller.abort();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  };
  // Each command runs in its own process group, out of reach of the terminal's signals: mlo ends them.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const hooks = opts.dry ? undefined : lazyTrackingHooks(repo, out, targets);
  let result: RunResult;
  try {
    result = await runPipeline(repo, {
      targets,
      force: opts.force,
      dry: opts.dry,
      singleItem: opts.singleItem,
      downstream: opts.downstream,
      keepGoing: opts.keepGoing,
      pull: opts.pull
        ? {
            fetchOutputs: async (paths) => {
              const { fetchTargets } = await import('../../core/sync/fetch.js');
              await fetchTargets(repo, { cwd: repo.root, targets: paths, locked: true });
            },
            pullInputs: (paths) => pullInputs(repo, out, paths),
          }
        : undefined,
      jobs: opts.jobs,
      noRunCache: !opts.runCache,
      signal: controller.signal,
      hooks,
      baseEnv: process.env,
      onEvent: (e) => render(out, e),
    });
  } catch (err) {
    await hooks?.abort?.();
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  if (!result.ok) throw failure(result);
  const tracking = await recordInGit(repo, result, await hooks?.runFile());
  out.result({ ...result, toTrack: tracking.toTrack, staged: tracking.staged }, () => summary(result));
  gitHint(out, { root: repo.root, cwd: flags.cwd }, tracking, 'record this run');
}

/**
 * What git needs to share this run: what it wrote (mlo.lock, .gitignore entries, uncached outs), the
 * run record, and mlo.yaml, which the lock describes (when the user changed it since the last commit).
 */
async function recordInGit(repo: Repo, result: RunResult, runFile: string | undefined): Promise<GitTracking> {
  if (result.written.length === 0 && !runFile) return { toTrack: [], staged: false };
  const { trackInGit } = await import('../../core/data/to-track.js');
  return trackInGit(repo, [...result.written, PIPELINE_FILE, ...(runFile ? [runFile] : [])]);
}

/**
 * `run --pull` in a fresh clone: the missing deps mlo tracks (pointers, or outs in mlo.lock) are pulled
 * like `mlo pull PATH`; a dep mlo does not track is left for the run's own missing-dep error.
 */
async function pullInputs(repo: Repo, out: Output, paths: string[]): Promise<void> {
  const [{ pullTargets }, { resolveTargets }] = await Promise.all([import('../../core/sync/fetch.js'), import('../../core/data/tracked.js')]);
  const tracked = paths.filter((p) => {
    try {
      return resolveTargets(repo, repo.root, [p]).length > 0;
    } catch (err) {
      if (isMloError(err, 'MLO_NOT_TRACKED')) return false;
      throw err;
    }
  });
  if (tracked.length === 0) return;
  const r = await pullTargets(repo, { cwd: repo.root, targets: tracked });
  out.info(
    `Pulled the stages' inputs ${tracked.join(', ')}: ${plural(r.fetch.downloaded, 'object')} fetched, ${plural(r.checkout.added.length, 'path')} checked out`,
  );
}

/** The experiment-tracking module records each run that executes a stage (loaded only when a stage runs). */
type LoadedHooks = PipelineHooks & { abort?: () => Promise<void>; runFile?: () => string | undefined };

async function trackingHooks(repo: Repo, out: Output, targets: string[]): Promise<LoadedHooks | undefined> {
  const mod = await import('../../core/tracking/hooks.js');
  try {
    const hooks = mod.createTrackingHooks(repo, { command: ['mlo run', ...targets].join(' '), source: 'run', onWarning: (m) => out.warn(m) });
    return { ...bindHooks(hooks), abort: () => mod.abortTrackedRun(hooks), runFile: () => mod.runFileOf(repo, hooks) };
  } catch (err) {
    out.warn(`experiment tracking is off for this run: ${(err as Error).message}`);
    return undefined;
  }
}

/** Loads the tracking module only when a stage actually runs, so a no-op run stays cheap. */
function lazyTrackingHooks(repo: Repo, out: Output, targets: string[]): PipelineHooks & { abort(): Promise<void>; runFile(): Promise<string | undefined> } {
  let real: Promise<LoadedHooks | undefined> | undefined;
  const get = () => (real ??= trackingHooks(repo, out, targets));
  return {
    onRunStart: async (info) => (await get())?.onRunStart?.(info),
    onStageStart: async (stage) => (await get())?.onStageStart?.(stage),
    onStageEnd: async (stage, result) => (await get())?.onStageEnd?.(stage, result),
    onRunEnd: async (summary) => (await get())?.onRunEnd?.(summary),
    abort: async () => {
      if (real) await (await real)?.abort?.();
    },
    // A run that ran no stage loaded no hooks and wrote no record.
    runFile: async () => (real ? (await real)?.runFile?.() : undefined),
  };
}

/** The tracking hooks object has getters (runId, started); the runner only needs its methods. */
function bindHooks(h: PipelineHooks): PipelineHooks {
  return {
    onRunStart: h.onRunStart?.bind(h),
    onStageStart: h.onStageStart?.bind(h),
    onStageEnd: h.onStageEnd?.bind(h),
    onRunEnd: h.onRunEnd?.bind(h),
  };
}

function reasonsText(reasons: Reason[]): string {
  if (reasons.length === 0) return '';
  const shown = reasons.slice(0, 3).map((r) => r.message);
  if (reasons.length > 3) shown.push(`${reasons.length - 3} more`);
  return shown.join('; ');
}

function render(out: Output, e: RunEvent): void {
  switch (e.type) {
    case 'skip':
      out.verbose(e.frozen ? `Stage '${e.stage}' is frozen, skipping` : `Stage '${e.stage}' didn't change, skipping`);
      return;
    case 'start':
      out.info(stderrColor.bold(`Running stage '${e.stage}'`) + stderrColor.dim(` (${reasonsText(e.reasons)})`));
      return;
    case 'output':
      if (!out.flags.quiet) process.stderr.write(`${stderrColor.cyan(e.stage)} ${stderrColor.dim('|')} ${e.line}\n`);
      return;
    case 'restored': {
      const how =
        e.from === 'run-cache'
          ? 'this run is in the run cache: restored its outputs instead of running it'
          : e.from === 'remote'
            ? 'pulled its missing outputs from the remote'
            : 'restored its missing outputs from the cache';
      out.info(`Stage '${e.stage}': ${how}`);
      return;
    }
    case 'done':
      if (e.status === 'ran') out.verbose(`Stage '${e.stage}' finished in ${seconds(e.durationMs)}`);
      else
        out.info(
          stderrColor.red(`Stage '${e.stage}' ${e.status}`) +
            (e.exitCode !== undefined && e.exitCode !== 0 ? stderrColor.dim(` (exit code ${e.exitCode})`) : ''),
        );
      return;
    case 'warning':
      out.warn(e.message);
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function statusWord(s: StageOutcome, dry: boolean): string {
  if (dry) {
    if (s.status === 'planned')
      return s.action === 'restore'
        ? `would restore (${s.restoredFrom === 'run-cache' ? 'run cache' : 'cache'})`
        : s.action === 'pull'
          ? 'would pull'
          : 'would run';
    return s.status;
  }
  if (s.status === 'ran') return stdoutColor.green(`ran (${seconds(s.durationMs ?? 0)})`);
  if (s.status === 'restored')
    return stdoutColor.green(`restored from ${s.restoredFrom === 'run-cache' ? 'run cache' : s.restoredFrom === 'remote' ? 'remote' : 'cache'}`);
  if (s.status === 'failed' || s.status === 'interrupted') return stdoutColor.red(s.status);
  return s.status;
}

function summary(result: RunResult): string[] {
  const busy = result.stages.filter((s) => s.status !== 'unchanged' && s.status !== 'frozen');
  if (busy.length === 0) {
    const n = result.stages.length;
    return [n === 0 ? 'mlo.yaml defines no stages.' : `Everything is up to date (${plural(n, 'stage')}).`];
  }
  const width = Math.max(...result.stages.map((s) => displayWidth(s.name)));
  const lines = result.stages.map((s) => {
    const why = result.dry && s.status === 'planned' ? stdoutColor.dim(`  ${reasonsText(s.reasons)}`) : '';
    return `${pad(s.name, width)}  ${statusWord(s, result.dry)}${why}`;
  });
  return lines;
}

function failure(result: RunResult): MloError {
  const failed = result.stages.filter((s) => s.status === 'failed' || s.status === 'interrupted');
  if (result.interrupted) {
    return new MloError('MLO_INTERRUPTED', 'the run was interrupted; stages that finished are recorded in mlo.lock', {
      hint: 'run mlo run again to continue',
      meta: { result },
    });
  }
  const first = failed[0];
  const more =
    failed.length > 1
      ? ` (and ${failed.length - 1} more failed: ${failed
          .slice(1)
          .map((s) => s.name)
          .join(', ')})`
      : '';
  const code = isErrorCode(first?.error?.code) ? first.error.code : 'MLO_STAGE_FAILED';
  // A failed run exits 1 whichever error its first failed stage met.
  return new MloError(code, `${first?.error?.message ?? 'a stage failed'}${more}`, {
    hint: first?.error?.hint,
    meta: { result },
    exitCode: EXIT.failure,
  });
}
