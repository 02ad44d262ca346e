/** The shapes of a CI report (what `mlo ci report --json` prints), shared by the report and its markdown. */
import type { DriftReport } from '../monitor/drift.js';
import type { ValidationReport } from '../monitor/schema.js';
import type { StageStatusEntry } from '../pipeline/plan.js';
import type { MissingReason } from '../tracking/rev-files.js';
import type { Gate } from '../pipeline/schema.js';
import type { FileDiff, WORKSPACE } from '../tracking/revisions.js';

export const FAIL_ON = ['metrics', 'pipeline', 'drift', 'validation', 'any'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export type SectionName = 'metrics' | 'params' | 'validation' | 'drift' | 'pipeline';

export interface SectionError {
  code: string;
  message: string;
  hint?: string;
}

export interface ValidatePair {
  data: string;
  schema: string;
}

export interface DriftPair {
  reference: string;
  current: string;
}

export interface CiReportOptions {
  /** Relative data and schema paths are resolved from here (the user's working directory). */
  cwd: string;
  /** Revision to compare with (default 'main'). */
  base?: string;
  validate?: ValidatePair[];
  drift?: DriftPair[];
  plotsUrl?: string;
  /** Metric gates from the command line; they replace mlo.yaml's gate of the same metric. */
  gates?: Record<string, Gate>;
}

/**
 * One gated metric in one metrics file. `passed`: no worse than the threshold allows; `new`: only in the
 * workspace (passes); `regressed`, `removed` (only at the base), `not-a-number` and `not-found` (no
 * metrics file at either revision has the key) fail.
 */
export interface GateResult {
  /** The gate as declared: KEY or FILE:KEY. */
  metric: string;
  /** null when no metrics file has the key. */
  file: string | null;
  key: string;
  better: Gate['better'];
  /** As declared: an amount, or a share of the base value such as '2%'. */
  threshold: number | string;
  base: number | string | null;
  workspace: number | string | null;
  /** How much worse the workspace is, in the metric's units (negative: better); null unless both are numbers. */
  worsening: number | null;
  status: 'passed' | 'new' | 'regressed' | 'removed' | 'not-a-number' | 'not-found';
  ok: boolean;
}

export interface GatesSection {
  /** false when a gate failed or the gates could not be read (see `error`). */
  ok: boolean;
  /** One per gate and metrics file holding its key. */
  results: GateResult[];
  error?: SectionError;
}

/** What one side of a metrics or params comparison lacked, and why. */
export interface SideMissing {
  side: 'base' | 'head';
  rev: string;
  /** The file, or null when the side has no files of the kind at all. */
  file: string | null;
  /** A MissingFile reason (rev-files.ts), or 'none': the side has no files of the kind. */
  reason: MissingReason | 'none';
  message: string;
  hint?: string;
}

export interface DiffSection {
  /** false when the files could not be read (see `error`), including a recorded file neither in the cache nor on the remote. */
  ok: boolean;
  /** Changed keys only. */
  diff: FileDiff[];
  /** Keys present at both revisions with the same value. */
  unchanged: number;
  /** Present when a side lacked files: then an empty `diff` does not mean nothing changed. */
  missing?: SideMissing[];
  error?: SectionError;
}

export interface ValidationEntry extends ValidatePair {
  ok: boolean;
  report?: ValidationReport;
  error?: SectionError;
}

export interface DriftEntry extends DriftPair {
  /** false on drift or when a file could not be read. */
  ok: boolean;
  report?: DriftReport;
  error?: SectionError;
}

export interface PipelineSection {
  /** false when mlo.yaml could not be read or a stage is stale; stages that only lack their outs pass. */
  ok: boolean;
  stages: StageStatusEntry[];
  /** Stages `mlo run` would do something for (run, restore or pull). */
  changed: string[];
  /** Stages mlo.lock no longer describes: their command, deps or params changed since the last run. */
  stale: string[];
  error?: SectionError;
}

export interface CiReport {
  base: { rev: string; sha: string };
  head: { rev: typeof WORKSPACE; sha: string | null };
  /** null when neither revision has metrics files (the section does not apply). */
  metrics: DiffSection | null;
  /** null when no gate is declared (in mlo.yaml `gates:` or with --gate). */
  gates: GatesSection | null;
  params: DiffSection | null;
  validation: ValidationEntry[];
  drift: DriftEntry[];
  /** null without mlo.yaml. */
  pipeline: PipelineSection | null;
  plotsUrl: string | null;
  /** Sections with a failure: a metric past its gate, a stale stage, a broken rule, drift, or a file that could not be read. */
  failed: SectionName[];
  markdown: string;
}
