/**
 * Comparing one column of the reference with the same column of the current data: picks numeric or
 * categorical, runs the selected tests (PSI and KS, or chi-square and Jensen-Shannon) and builds the
 * summaries and histogram the reports show.
 */
import { MloError } from '../../base/errors.js';
import type { ColumnData } from './collect.js';
import type { DriftOptions, DriftReport, FeatureDrift, Histogram, SideSummary } from './drift-types.js';
import { ksTwoSample } from './ks.js';
import { PREDICTION_PREFIX } from './servelog.js';
import { chi2Homogeneity, jensenShannon, lowerBound, psi as psiOf } from './stats.js';

export function compareColumn(x: ColumnData, y: ColumnData, s: DriftReport['settings'], o: DriftOptions, files: [string, string]): FeatureDrift | string {
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
