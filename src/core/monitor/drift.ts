/**
 * Data and prediction drift between a reference data set (usually the training data) and a current one
 * (production data or a serve log). Numeric features: Population Stability Index on reference deciles
 * and the two-sample Kolmogorov-Smirnov test. Categorical features: chi-square test of homogeneity and
 * Jensen-Shannon distance. Each file is read once, streaming; numeric columns are kept as Float64Arrays
 * (8 bytes a value) because KS needs every value sorted.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { usageError, MloError, type ErrorCode } from '../../base/errors.js';
import { CELL, type RowBatch } from '../../base/tabular/index.js';
import { openData, type DataFormat } from './dataset.js';
import { ksTwoSample, type KsResult } from './ks.js';
import { PREDICTION_PREFIX } from './servelog.js';
import { sortFloat64 } from './sort.js';
import { chi2Homogeneity, jensenShannon, lowerBound, psi as psiOf, type Chi2Result } from './stats.js';

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
  drifted: number;
  compared: number;
  share: number;
  predictionDrift: boolean;
  drift: boolean;
}

export async function detectDrift(options: DriftOptions): Promise<DriftReport> {
  const settings = checkSettings(options);
  const ref = openData(options.reference, { cwd: options.cwd, format: options.referenceFormat, model: options.model });
  const cur = openData(options.current, { cwd: options.cwd, format: options.currentFormat, model: options.model });
  const want = columnFilter(options);
  // The two files are independent: read and sort the reference in a worker thread while this thread
  // reads and sorts the current data (measured 2.5 s instead of 3.6 s for two 1M x 30 CSV files).
  const job: CollectJob = { path: ref.path, file: ref.file, format: ref.format, model: options.model, columns: options.columns, exclude: options.exclude };
  const worker = options.threads === false ? undefined : await startWorker(job);
  let b: Collected;
  try {
    b = collectSorted(cur.batches(), want);
  } catch (err) {
    await worker?.cancel();
    throw err;
  }
  const a = (await worker?.result) ?? collectSorted(ref.batches(), want);
  if (a.rows === 0) throw new MloError('MLO_EMPTY_DATA', `${ref.file}: no rows to compare`, { hint: 'the reference needs at least one data row' });
  if (b.rows === 0) {
    throw new MloError(
      'MLO_EMPTY_DATA',
      `${cur.file}: no rows to compare${cur.format === 'servelog' ? ' (no successful requests' + (options.model ? ` for model '${options.model}'` : '') + ')' : ''}`,
      {
        hint: 'the current data needs at least one row',
      },
    );
  }

  const features: FeatureDrift[] = [];
  const skipped: { column: string; reason: string }[] = [];
  for (const name of options.columns ?? a.names) {
    if (!want(name)) continue;
    const x = a.columns.get(name);
    const y = b.columns.get(name);
    if (!x && !y) throw usageError(`column '${name}' is in neither ${ref.file} nor ${cur.file}`, `columns of ${ref.file}: ${a.names.join(', ')}`);
    if (!x) {
      skipped.push({ column: name, reason: `not in ${ref.file}` });
      continue;
    }
    if (!y) {
      skipped.push({ column: name, reason: `not in ${cur.file}` });
      continue;
    }
    const f = compareColumn(x, y, settings, options, [ref.file, cur.file]);
    if (typeof f === 'string') skipped.push({ column: name, reason: f });
    else features.push(f);
  }
  for (const name of b.names) {
    if (!a.columns.has(name) && want(name) && !options.columns) skipped.push({ column: name, reason: `not in ${ref.file}` });
  }
  const drifted = features.filter((f) => f.drifted).length;
  const share = features.length ? drifted / features.length : 0;
  const drift = settings.driftShare === null ? drifted > 0 : features.length > 0 && share >= settings.driftShare;
  return {
    reference: { file: ref.file, format: ref.format, rows: a.rows },
    current: { file: cur.file, format: cur.format, rows: b.rows },
    settings,
    features,
    skipped,
    drifted,
    compared: features.length,
    share,
    predictionDrift: features.some((f) => f.role === 'prediction' && f.drifted),
    drift,
  };
}

function checkSettings(o: DriftOptions): DriftReport['settings'] {
  const d = DRIFT_DEFAULTS;
  const p = (name: string, v: number | undefined, def: number) => {
    const x = v ?? def;
    if (!(x > 0 && x < 1)) throw usageError(`${name} must be between 0 and 1, got ${x}`);
    return x;
  };
  const psiThreshold = o.psiThreshold ?? d.psiThreshold;
  if (!(psiThreshold > 0)) throw usageError(`--psi-threshold must be positive, got ${psiThreshold}`);
  const psiBins = o.psiBins ?? d.psiBins;
  if (!Number.isInteger(psiBins) || psiBins < 2) throw usageError(`--psi-bins must be a whole number of at least 2, got ${psiBins}`);
  const jsThreshold = o.jsThreshold ?? d.jsThreshold;
  if (!(jsThreshold > 0 && jsThreshold <= 1)) throw usageError(`--js-threshold must be in (0, 1], got ${jsThreshold}`);
  const tests = o.tests ?? d.tests;
  for (const t of tests)
    if (!DRIFT_TESTS.includes(t)) throw usageError(`unknown test '${t}'`, `--tests takes a comma-separated list of ${DRIFT_TESTS.join(', ')}`);
  if (tests.length === 0) throw usageError('--tests is empty', `name at least one of ${DRIFT_TESTS.join(', ')}`);
  const maxNumericCategories = o.maxNumericCategories ?? d.maxNumericCategories;
  if (o.driftShare !== undefined && !(o.driftShare > 0 && o.driftShare <= 1)) throw usageError(`--drift-share must be in (0, 1], got ${o.driftShare}`);
  return {
    tests,
    psiThreshold,
    psiBins,
    ksP: p('--ks-p', o.ksP, d.ksP),
    chi2P: p('--chi2-p', o.chi2P, d.chi2P),
    jsThreshold,
    maxNumericCategories,
    driftShare: o.driftShare ?? null,
  };
}

function columnFilter(o: { columns?: string[]; exclude?: string[] }): (name: string) => boolean {
  const only = o.columns ? new Set(o.columns) : undefined;
  const skip = new Set(o.exclude ?? []);
  return (name) => (only ? only.has(name) : true) && !skip.has(name);
}

// ---------------------------------------------------------------------------------------------------
// Reading: one pass per file; a column is numeric until a non-numeric value shows up.

export interface Collected {
  rows: number;
  names: string[];
  columns: Map<string, ColumnData>;
}

/** What a worker needs to read one file (plain data: it crosses a thread boundary). */
export interface CollectJob {
  path: string;
  file: string;
  format: DataFormat;
  model?: string;
  columns?: string[];
  exclude?: string[];
}

/** Reads one file in this thread (the worker's body). */
export function collectJob(job: CollectJob): Collected {
  const source = openData(job.path, { cwd: '/', format: job.format, model: job.model, displayName: job.file });
  return collectSorted(source.batches(), columnFilter(job));
}

export interface PackedColumn {
  name: string;
  numeric: boolean;
  values: Float64Array;
  count: number;
  missing: number;
  nan: number;
  categories: Map<string, number>;
  firstText?: { value: string; row: number };
  isSorted: boolean;
}

export function packCollected(c: Collected): { message: { rows: number; names: string[]; columns: PackedColumn[] }; transfer: ArrayBuffer[] } {
  const columns = [...c.columns.values()].map((d) => ({
    name: d.name,
    numeric: d.numeric,
    values: d.values,
    count: d.count,
    missing: d.missing,
    nan: d.nan,
    categories: d.categories,
    firstText: d.firstText,
    isSorted: d.isSorted,
  }));
  return { message: { rows: c.rows, names: c.names, columns }, transfer: columns.map((p) => p.values.buffer as ArrayBuffer) };
}

function unpackCollected(m: { rows: number; names: string[]; columns: PackedColumn[] }): Collected {
  const columns = new Map<string, ColumnData>();
  for (const p of m.columns) {
    const d = new ColumnData(p.name);
    Object.assign(d, {
      numeric: p.numeric,
      values: p.values,
      count: p.count,
      missing: p.missing,
      nan: p.nan,
      categories: p.categories,
      firstText: p.firstText,
      isSorted: p.isSorted,
    });
    columns.set(p.name, d);
  }
  return { rows: m.rows, names: m.names, columns };
}

const WORKER_URL = new URL('./collect-worker.js', import.meta.url);

interface WorkerRun {
  result: Promise<Collected>;
  cancel(): Promise<void>;
}

/** Starts `collectJob` in a worker thread; undefined when the compiled worker is absent (tests on sources). */
async function startWorker(job: CollectJob): Promise<WorkerRun | undefined> {
  if (!existsSync(fileURLToPath(WORKER_URL))) return undefined;
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(WORKER_URL, { workerData: job });
  type Reply = { ok?: Parameters<typeof unpackCollected>[0]; error?: { code?: ErrorCode; message: string; hint?: string; exitCode?: number } };
  const result = new Promise<Collected>((resolve, reject) => {
    worker.once('message', (msg: Reply) => {
      if (msg.ok) resolve(unpackCollected(msg.ok));
      else if (msg.error?.code) reject(new MloError(msg.error.code, msg.error.message, { hint: msg.error.hint, exitCode: msg.error.exitCode }));
      else reject(new Error(msg.error?.message ?? 'the drift worker failed'));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the drift worker stopped (exit code ${code}) without a result`)));
  });
  // If this thread fails first, nobody awaits the result; keep its rejection from being unhandled.
  result.catch(() => undefined);
  return {
    result,
    async cancel() {
      await worker.terminate();
    },
  };
}

class ColumnData {
  numeric = true;
  values = new Float64Array(1024);
  count = 0;
  missing = 0;
  nan = 0;
  categories = new Map<string, number>();
  /** First value that made the column categorical, for messages. */
  firstText?: { value: string; row: number };
  constructor(readonly name: string) {}

  push(v: number): void {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = v;
  }

  toCategorical(): void {
    if (!this.numeric) return;
    this.numeric = false;
    for (let i = 0; i < this.count; i++) this.addCategory(numberKey(this.values[i]));
    this.values = new Float64Array(0);
    this.count = 0;
  }

  addCategory(key: string): void {
    this.categories.set(key, (this.categories.get(key) ?? 0) + 1);
  }

  isSorted = false;

  sorted(): Float64Array {
    const view = this.values.subarray(0, this.count);
    if (!this.isSorted) {
      sortFloat64(view);
      this.isSorted = true;
    }
    return view;
  }
}

function numberKey(v: number): string {
  return String(v);
}

/** Reads every batch, then sorts the numeric columns (KS and PSI need them sorted). */
function collectSorted(batches: Generator<RowBatch>, want: (name: string) => boolean): Collected {
  const c = collect(batches, want);
  for (const d of c.columns.values()) if (d.numeric) d.sorted();
  return c;
}

function collect(batches: Generator<RowBatch>, want: (name: string) => boolean): Collected {
  const columns = new Map<string, ColumnData>();
  const names: string[] = [];
  let rows = 0;
  for (const batch of batches) {
    for (const name of batch.names) {
      if (!want(name)) continue;
      let data = columns.get(name);
      if (!data) {
        data = new ColumnData(name);
        // A column first seen in a later batch (JSON lines) was missing on the earlier rows.
        data.missing = rows;
        columns.set(name, data);
        names.push(name);
      }
      readColumn(batch, data);
    }
    rows += batch.length;
  }
  return { rows, names, columns };
}

function readColumn(batch: RowBatch, data: ColumnData): void {
  const col = batch.column(data.name);
  const n = batch.length;
  let i = 0;
  if (data.numeric) {
    for (; i < n; i++) {
      const k = col.read(i);
      if (k === CELL.int || k === CELL.float) {
        const v = col.num;
        if (Number.isNaN(v)) data.nan++;
        else data.push(v);
      } else if (k === CELL.null) data.missing++;
      else {
        data.firstText = { value: col.text(i), row: batch.firstRow + i };
        data.toCategorical();
        break;
      }
    }
  }
  for (; i < n; i++) {
    const k = col.read(i);
    if (k === CELL.null) data.missing++;
    else if (k === CELL.int || k === CELL.float) {
      if (Number.isNaN(col.num)) data.nan++;
      else data.addCategory(numberKey(col.num));
    } else if (k === CELL.bool) data.addCategory(col.num ? 'true' : 'false');
    else data.addCategory(col.text(i));
  }
}

// ---------------------------------------------------------------------------------------------------
// Comparing one column.

function compareColumn(x: ColumnData, y: ColumnData, s: DriftReport['settings'], o: DriftOptions, files: [string, string]): FeatureDrift | string {
  const forcedCategorical = o.categorical?.includes(x.name) ?? false;
  const forcedNumeric = o.numeric?.includes(x.name) ?? false;
  if (forcedNumeric) {
    for (const [d, file] of [
      [x, files[0]],
      [y, files[1]],
    ] as const) {
      if (!d.numeric) {
        throw new MloError('MLO_NOT_NUMERIC', `${file}: column '${d.name}' has a non-numeric value '${d.firstText?.value}' at row ${d.firstText?.row}`, {
          hint: 'drop --numeric for this column, or clean the value',
        });
      }
    }
  }
  let numeric = x.numeric && y.numeric && !forcedCategorical;
  let xs: Float64Array | undefined;
  let ys: Float64Array | undefined;
  if (numeric) {
    xs = x.sorted();
    ys = y.sorted();
    if (!forcedNumeric && distinctAtMost(xs, ys, s.maxNumericCategories)) numeric = false;
  }
  const role = x.name.startsWith(PREDICTION_PREFIX) ? 'prediction' : 'feature';
  if (numeric && xs && ys) {
    if (xs.length === 0 || ys.length === 0) return `no numeric values in ${xs.length === 0 ? files[0] : files[1]}`;
    return compareNumeric(x, y, xs, ys, s, role);
  }
  x.toCategorical();
  y.toCategorical();
  if (x.categories.size === 0 || y.categories.size === 0) return `no values in ${x.categories.size === 0 ? files[0] : files[1]}`;
  return compareCategorical(x, y, s, role);
}

function distinctAtMost(a: Float64Array, b: Float64Array, max: number): boolean {
  const seen = new Set<number>();
  for (const arr of [a, b]) {
    for (let i = 0; i < arr.length; i++) {
      if (i > 0 && arr[i] === arr[i - 1]) continue;
      seen.add(arr[i]);
      if (seen.size > max) return false;
    }
  }
  return true;
}

function summary(d: ColumnData, sorted: Float64Array): SideSummary {
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i];
  return {
    count: sorted.length,
    missing: d.missing,
    nan: d.nan,
    mean: sorted.length ? sum / sorted.length : undefined,
    min: sorted.length ? sorted[0] : undefined,
    max: sorted.length ? sorted[sorted.length - 1] : undefined,
  };
}

function compareNumeric(
  x: ColumnData,
  y: ColumnData,
  xs: Float64Array,
  ys: Float64Array,
  s: DriftReport['settings'],
  role: FeatureDrift['role'],
): FeatureDrift {
  const f: FeatureDrift = {
    column: x.name,
    role,
    type: 'numeric',
    reference: summary(x, xs),
    current: summary(y, ys),
    drifted: false,
    reasons: [],
    histogram: numericHistogram(xs, ys, 20),
  };
  if (s.tests.includes('psi')) {
    f.psi = psiOf(xs, ys, s.psiBins).psi;
    if (f.psi >= s.psiThreshold) f.reasons.push(`psi ${fmt(f.psi)} >= ${s.psiThreshold}`);
  }
  if (s.tests.includes('ks')) {
    f.ks = ksTwoSample(xs, ys);
    if (f.ks.pvalue < s.ksP) f.reasons.push(`ks p ${fmt(f.ks.pvalue)} < ${s.ksP}`);
  }
  f.drifted = f.reasons.length > 0;
  return f;
}

function compareCategorical(x: ColumnData, y: ColumnData, s: DriftReport['settings'], role: FeatureDrift['role']): FeatureDrift {
  const keys = [...new Set([...x.categories.keys(), ...y.categories.keys()])];
  // Most frequent first (reference, then current), so the histogram and the report show the big ones.
  keys.sort((p, q) => (x.categories.get(q) ?? 0) - (x.categories.get(p) ?? 0) || (y.categories.get(q) ?? 0) - (y.categories.get(p) ?? 0) || (p < q ? -1 : 1));
  const rc = keys.map((k) => x.categories.get(k) ?? 0);
  const cc = keys.map((k) => y.categories.get(k) ?? 0);
  const side = (d: ColumnData, counts: number[]): SideSummary => ({
    count: counts.reduce((a, b) => a + b, 0),
    missing: d.missing,
    nan: d.nan,
    categories: d.categories.size,
  });
  const top = Math.min(keys.length, 20);
  const f: FeatureDrift = {
    column: x.name,
    role,
    type: 'categorical',
    reference: side(x, rc),
    current: side(y, cc),
    drifted: false,
    reasons: [],
    histogram: { labels: keys.slice(0, top), reference: rc.slice(0, top), current: cc.slice(0, top) },
  };
  if (s.tests.includes('chi2')) {
    f.chi2 = chi2Homogeneity(rc, cc);
    if (f.chi2.pvalue < s.chi2P) f.reasons.push(`chi2 p ${fmt(f.chi2.pvalue)} < ${s.chi2P}`);
  }
  if (s.tests.includes('js')) {
    f.js = jensenShannon(rc, cc);
    if (f.js >= s.jsThreshold) f.reasons.push(`js ${fmt(f.js)} >= ${s.jsThreshold}`);
  }
  f.drifted = f.reasons.length > 0;
  return f;
}

/** Equal-width bins over the finite range of both samples (for the HTML report). */
function numericHistogram(xs: Float64Array, ys: Float64Array, bins: number): Histogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of [xs, ys]) {
    let i = 0;
    while (i < s.length && !Number.isFinite(s[i])) i++;
    let j = s.length - 1;
    while (j >= 0 && !Number.isFinite(s[j])) j--;
    if (i <= j) {
      lo = Math.min(lo, s[i]);
      hi = Math.max(hi, s[j]);
    }
  }
  if (!Number.isFinite(lo)) return { edges: [], reference: [], current: [] };
  if (hi === lo) hi = lo + 1;
  const edges: number[] = [];
  for (let i = 0; i <= bins; i++) edges.push(lo + ((hi - lo) * i) / bins);
  const count = (s: Float64Array) => {
    const out: number[] = [];
    let prev = 0;
    for (let i = 1; i <= bins; i++) {
      // The last bin is closed; values beyond the range (±Infinity) are left out.
      const upto = i === bins ? upperBound(s, hi) : lowerBound(s, edges[i]);
      out.push(upto - prev);
      prev = upto;
    }
    out[0] -= lowerBound(s, lo);
    return out;
  };
  return { edges, reference: count(xs), current: count(ys) };
}

function upperBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a < 1e-3 || a >= 1e6 ? v.toExponential(2) : Number(v.toPrecision(3)).toString();
}
