/**
 * Hooks `runPipeline` calls so another module (experiment tracking) can record every run without the
 * runner knowing about it. Each hook is optional and awaited; the env maps that onRunStart and
 * onStageStart return are added to the stage's environment (e.g. MLO_RUN_ID, MLO_METRICS_FILE). A hook
 * that throws does not stop the pipeline: the runner reports it as a warning event (runHooks).
 */
import type { Reason } from './changes.js';
import type { LockFileEntry, LockOutEntry } from '../data/lockfile.js';
import type { ParamValues } from './params.js';

export interface RunStartInfo {
  /** Absolute repository root. */
  root: string;
  /** The stages that will be considered, in run order. */
  stages: string[];
  targets: string[];
  force: boolean;
  startedAt: string;
}

export interface StageStartInfo {
  name: string;
  cmd: string | string[];
  /** Absolute working directory of the command. */
  wdir: string;
  deps: LockFileEntry[];
  params: ParamValues;
  /** Out paths relative to the root. */
  outs: string[];
  /** Metric files (relative to the root) the stage declares. */
  metricsFiles: string[];
  reasons: Reason[];
}

export type StageStatus = 'succeeded' | 'failed' | 'interrupted';

export interface StageEndResult {
  status: StageStatus;
  durationMs: number;
  exitCode?: number;
  deps: LockFileEntry[];
  /** Recorded outs (empty when the stage failed). */
  outs: LockOutEntry[];
  params: ParamValues;
  /** Metric files relative to the root. */
  metricsFiles: string[];
}

export interface RunSummary {
  ok: boolean;
  interrupted: boolean;
  durationMs: number;
  stages: { name: string; action: string; status: string }[];
}

export interface PipelineHooks {
  onRunStart?(info: RunStartInfo): Promise<Record<string, string> | undefined>;
  onStageStart?(stage: StageStartInfo): Promise<Record<string, string> | undefined>;
  onStageEnd?(stage: StageStartInfo, result: StageEndResult): Promise<void>;
  onRunEnd?(summary: RunSummary): Promise<void>;
}

/** The hooks of one run, as the runner calls them: each is optional, and one that throws becomes a warning. */
export interface RunHooks {
  /** onRunStart, called once (later calls return the first one's env): its env goes to every stage. */
  startRun(): Promise<Record<string, string>>;
  /** True once onRunStart was called: then onRunEnd is too. */
  runStarted(): boolean;
  stageStart(stage: StageStartInfo): Promise<Record<string, string>>;
  stageEnd(stage: StageStartInfo, result: StageEndResult): Promise<void>;
  /** onRunEnd, only when onRunStart was called. */
  endRun(summary: RunSummary): Promise<void>;
}

export function runHooks(hooks: PipelineHooks | undefined, info: RunStartInfo, warn: (message: string) => void): RunHooks {
  let runStart: Promise<Record<string, string>> | undefined;
  async function call<T>(name: string, fn: (() => Promise<T>) | undefined): Promise<T | undefined> {
    if (!fn) return undefined;
    try {
      return await fn();
    } catch (err) {
      warn(`tracking hook ${name} failed: ${(err as Error).message}`);
      return undefined;
    }
  }
  return {
    startRun() {
      runStart ??= call('onRunStart', hooks?.onRunStart && (() => hooks.onRunStart!(info))).then((env) => env ?? {});
      return runStart;
    },
    runStarted: () => runStart !== undefined,
    async stageStart(stage) {
      return (await call('onStageStart', hooks?.onStageStart && (() => hooks.onStageStart!(stage)))) ?? {};
    },
    async stageEnd(stage, result) {
      await call('onStageEnd', hooks?.onStageEnd && (() => hooks.onStageEnd!(stage, result)));
    },
    async endRun(summary) {
      if (runStart) await call('onRunEnd', hooks?.onRunEnd && (() => hooks.onRunEnd!(summary)));
    },
  };
}
