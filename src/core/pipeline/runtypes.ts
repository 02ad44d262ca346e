/**
 * What `mlo run` takes and gives back: its options, the events it reports as stages go, and each
 * stage's outcome. Shared by the runner (run.ts) and the stage executor (executor.ts); callers import
 * them from run.ts.
 */
import type { Reason } from './changes.js';
import type { PipelineHooks } from './hooks.js';
import type { Action } from './plan.js';

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
   * `pullInputs` first downloads and checks out the missing deps no selected stage writes (data added
   * with `mlo add`, or outs of stages left out by --single-item) that mlo tracks: in a fresh clone they
   * are on the remote only. The pipeline layer sits below sync, so the caller (the CLI) supplies both.
   */
  pull?: { fetchOutputs(targets: string[]): Promise<void>; pullInputs(targets: string[]): Promise<void> };
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
  /**
   * Paths (relative to the root) this run wrote that belong in git: mlo.lock, the `.gitignore` files
   * beside cached outs, and the uncached outs themselves. Whether git sees a change in them is the
   * caller's question (core/data/to-track.ts).
   */
  written: string[];
}
