/**
 * Hooks `runPipeline` calls so another module (experiment tracking) can record every run without the
 * runner knowing about it. Each hook is optional and awaited; the env maps that onRunStart and
 * onStageStart return are added to the stage's environment (e.g. MLO_RUN_ID, MLO_METRICS_FILE). A hook
 * that throws does not stop the pipeline: the runner reports it as a warning event.
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
  onRunStart?(info: RunStartInfo): Promise<Record<string, string> | void>;
  onStageStart?(stage: StageStartInfo): Promise<Record<string, string> | void>;
  onStageEnd?(stage: StageStartInfo, result: StageEndResult): Promise<void>;
  onRunEnd?(summary: RunSummary): Promise<void>;
}
