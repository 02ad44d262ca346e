/**
 * Data and prediction drift between a reference data set (usually the training data) and a current one
 * (production data or a serve log). Numeric features: Population Stability Index on reference deciles
 * and the two-sample Kolmogorov-Smirnov test. Categorical features: chi-square test of homogeneity and
 * Jensen-Shannon distance. Each file is read once, streaming (collect.ts); each column is compared in
 * compare.ts; the public types live in drift-types.ts and are re-exported here.
 */
import { usageError, MloError } from '../../base/errors.js';
import { collectSorted, columnFilter, startWorker, type Collected, type CollectJob } from './collect.js';
import { compareColumn } from './compare.js';
import { DRIFT_DEFAULTS, DRIFT_TESTS, type DriftOptions, type DriftReport, type FeatureDrift } from './drift-types.js';
import { openData } from './dataset.js';

export { fmt } from './compare.js';
export { DRIFT_DEFAULTS, DRIFT_TESTS } from './drift-types.js';
export type { DriftOptions, DriftReport, DriftTest, FeatureDrift, Histogram, SideSummary } from './drift-types.js';

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
