/**
 * The public shape of `mlo monitor drift`: the tests it can run, their default thresholds, the options
 * detectDrift takes and the report it returns. Kept apart from the code so that the CLI, the HTML report,
 * `mlo ci` and the collection worker can import the types without loading the statistics.
 */
import type { Repo } from '../repo/repo.js';
import type { DataFormat } from './dataset.js';
import type { KsResult } from './ks.js';
import type { Chi2Result } from './stats.js';

export const DRIFT_TESTS = ['psi', 'ks', 'chi2', 'js'] as const;
export type DriftTest = (typeof DRIFT_TESTS)[number];

export const DRIFT_DEFAULTS = {
  psiThreshold: 0.2,
  psiBins: 10,
  ksP: 0.05,
  chi2P: 0.05,
  jsThreshold: 0.1,
  /** Numeric columns with at most this many distinct values (both files together) are categorical. */
  maxNumericCategories: 5,
  tests: [...DRIFT_TESTS] as DriftTest[],
};

export interface DriftOptions {
  cwd: string;
  reference: string;
  current: string;
  referenceFormat?: DataFormat;
  currentFormat?: DataFormat;
  /** Serve logs: only this model's requests. */
  model?: string;
  psiThreshold?: number;
  psiBins?: number;
  ksP?: number;
  chi2P?: number;
  jsThreshold?: number;
  tests?: DriftTest[];
  maxNumericCategories?: number;
  /** Compare only these columns. */
  columns?: string[];
  exclude?: string[];
  /** Treat these columns as categorical / numeric whatever their values look like. */
  categorical?: string[];
  numeric?: string[];
  /** The data set drifts when at least this share of the compared columns drift (default: any column). */
  driftShare?: number;
  /** Read the reference in a worker thread (default true where the compiled worker exists). */
  threads?: boolean;
  /** The repository, when there is one: its registry's feature contracts read older serve logs. */
  repo?: Repo;
}

export interface SideSummary {
  count: number;
  missing: number;
  /** NaN values (numeric columns; left out of the tests like missing values). */
  nan: number;
  mean?: number;
  min?: number;
  max?: number;
  /** Distinct categories (categorical columns). */
  categories?: number;
}

export interface Histogram {
  /** Numeric: bin edges (bins + 1 values); categorical: the category of each bar. */
  edges?: number[];
  labels?: string[];
  reference: number[];
  current: number[];
}

export interface FeatureDrift {
  column: string;
  role: 'feature' | 'prediction';
  type: 'numeric' | 'categorical';
  reference: SideSummary;
  current: SideSummary;
  psi?: number;
  ks?: KsResult;
  chi2?: Chi2Result;
  js?: number;
  drifted: boolean;
  /** Which tests passed their threshold, e.g. "psi 0.31 >= 0.2". */
  reasons: string[];
  histogram: Histogram;
}

/** The drift of one model version's requests in a serve log (an A/B arm), against the same reference. */
export interface ArmDrift {
  model: string | null;
  version: string | number | null;
  rows: number;
  features: FeatureDrift[];
  drifted: number;
  compared: number;
  share: number;
  predictionDrift: boolean;
  drift: boolean;
}

export interface DriftReport {
  reference: { file: string; format: DataFormat; rows: number };
  current: { file: string; format: DataFormat; rows: number };
  settings: {
    tests: DriftTest[];
    psiThreshold: number;
    psiBins: number;
    ksP: number;
    chi2P: number;
    jsThreshold: number;
    maxNumericCategories: number;
    driftShare: number | null;
  };
  features: FeatureDrift[];
  skipped: { column: string; reason: string }[];
  /** How the files were read: positional feature mappings of older serve logs. */
  notes: string[];
  drifted: number;
  compared: number;
  share: number;
  predictionDrift: boolean;
  /** The whole data set drifted, or one of the arms did. */
  drift: boolean;
  /** A serve log with more than one model version: each version's requests on their own. */
  arms?: ArmDrift[];
}
