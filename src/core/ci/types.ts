/** The shapes of a CI report (what `mlo ci report --json` prints), shared by the report and its markdown. */
import type { DriftReport } from '../monitor/drift.js';
import type { ValidationReport } from '../monitor/schema.js';
import type { StageStatusEntry } from '../pipeline/plan.js';
import type { MissingReason } from '../tracking/rev-files.js';
import type { FileDiff, WORKSPACE } from '../tracking/revisions.js';

export const FAIL_ON = ['drift', 'validation', 'any'] as const;
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
  /** false only when mlo.yaml could not be read; changed stages are news, not a failure. */
  ok: boolean;
  stages: StageStatusEntry[];
  changed: string[];
  error?: SectionError;
}

export interface CiReport {
  base: { rev: string; sha: string };
  head: { rev: typeof WORKSPACE; sha: string | null };
  /** null when neither revision has metrics files (the section does not apply). */
  metrics: DiffSection | null;
  params: DiffSection | null;
  validation: ValidationEntry[];
  drift: DriftEntry[];
  /** null without mlo.yaml. */
  pipeline: PipelineSection | null;
  plotsUrl: string | null;
  /** Sections with a failure: a broken rule, drift, or a file that could not be read. */
  failed: SectionName[];
  markdown: string;
}
