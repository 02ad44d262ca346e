/**
 * Drift statistics besides KS (ks.ts): Population Stability Index on quantile bins of the reference,
 * Pearson's chi-square test of homogeneity, and the Jensen-Shannon distance. Each matches the scipy /
 * numpy expression named in its comment (test/monitor/scipy.test.ts checks them against Python).
 */

// ---------------------------------------------------------------------------------------------------
// Population Stability Index

/** Share given to an empty bin so PSI stays finite (Evidently's 0.0001). */
export const PSI_EMPTY_BIN = 1e-4;

export interface PsiResult {
  psi: number;
  /** Inner bin edges (unique reference quantiles); bins are (-inf, e0), [e0, e1), ..., [e_last, inf). */
  edges: number[];
  reference: number[];
  current: number[];
}

/**
 * PSI = sum over bins of (cur% - ref%) * ln(cur% / ref%), with the bin edges at the reference's
 * quantiles 1/bins, ..., (bins-1)/bins (numpy.quantile, linear), duplicates merged, and a value equal
 * to an edge counted in the bin above it (numpy.searchsorted(edges, x, side='right')). Empty bins count
 * as a share of 1e-4. Both inputs sorted ascending, without NaN.
 */
export function psi(ref: Float64Array, cur: Float64Array, bins = 10): PsiResult {
  const qs: number[] = [];
  for (let i = 1; i < bins; i++) qs.push(quantileSorted(ref, i / bins));
  const edges = [...new Set(qs)].sort((a, b) => a - b);
  const reference = binCounts(ref, edges);
  const current = binCounts(cur, edges);
  let total = 0;
  for (let b = 0; b < reference.length; b++) {
    const r = share(reference[b], ref.length);
    const c = share(current[b], cur.length);
    total += (c - r) * Math.log(c / r);
  }
  return { psi: total, edges, reference, current };
}

function share(count: number, n: number): number {
  const s = count / n;
  return s === 0 ? PSI_EMPTY_BIN : s;
}

/** Counts of a sorted sample in the bins the edges make (values equal to an edge go up). */
export function binCounts(sorted: Float64Array, edges: number[]): number[] {
  const counts: number[] = [];
  let prev = 0;
  for (const e of edges) {
    const below = lowerBound(sorted, e);
    counts.push(below - prev);
    prev = below;
  }
  counts.push(sorted.length - prev);
  return counts;
}

/** Index of the first element >= x in a sorted array. */
export function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** numpy.quantile(sorted, q) with the default 'linear' method, including numpy's two-sided lerp. */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const virtual = (n - 1) * q;
  const prev = Math.min(Math.max(Math.floor(virtual), 0), n - 1);
  const next = Math.min(prev + 1, n - 1);
  const t = virtual - Math.floor(virtual);
  const a = sorted[prev];
  const b = sorted[next];
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

// ---------------------------------------------------------------------------------------------------
// Chi-square test of homogeneity

export interface Chi2Result {
  statistic: number;
  pvalue: number;
  dof: number;
}

/**
 * scipy.stats.chi2_contingency on the 2 x k table [reference counts; current counts], with its default
 * Yates continuity correction when the table has one degree of freedom (two categories).
 */
export function chi2Homogeneity(ref: number[], cur: number[]): Chi2Result {
  const k = ref.length;
  const dof = k - 1;
  if (dof <= 0) return { statistic: 0, pvalue: 1, dof: 0 };
  let nr = 0;
  let nc = 0;
  for (let i = 0; i < k; i++) {
    nr += ref[i];
    nc += cur[i];
  }
  const total = nr + nc;
  let stat = 0;
  for (const [row, rowTotal] of [
    [ref, nr],
    [cur, nc],
  ] as const) {
    for (let i = 0; i < k; i++) {
      const expected = (rowTotal * (ref[i] + cur[i])) / total;
      let observed = row[i];
      if (dof === 1) {
        const diff = expected - observed;
        observed += Math.sign(diff) * Math.min(0.5, Math.abs(diff));
      }
      stat += (observed - expected) ** 2 / expected;
    }
  }
  return { statistic: stat, pvalue: chi2Sf(stat, dof), dof };
}

/** Survival function of the chi-square distribution (scipy.stats.chi2.sf). */
export function chi2Sf(x: number, dof: number): number {
  if (x <= 0) return 1;
  return gammaQ(dof / 2, x / 2);
}

const MACHEP = 1.11022302462515654042e-16;
const MAXLOG = 7.09782712893383996843e2;
const BIG = 4.503599627370496e15;
const BIGINV = 2.22044604925031308085e-16;

/** Regularized upper incomplete gamma Q(a, x) (cephes igamc: series below, continued fraction above). */
export function gammaQ(a: number, x: number): number {
  if (x < 0 || a <= 0) return NaN;
  if (x === 0) return 1;
  if (!Number.isFinite(x)) return 0;
  if (x < 1 || x < a) return 1 - gammaPSeries(a, x);
  let ax = a * Math.log(x) - x - logGamma(a);
  if (ax < -MAXLOG) return 0;
  ax = Math.exp(ax);
  let y = 1 - a;
  let z = x + y + 1;
  let c = 0;
  let pkm2 = 1;
  let qkm2 = x;
  let pkm1 = x + 1;
  let qkm1 = z * x;
  let ans = pkm1 / qkm1;
  let t: number;
  do {
    c += 1;
    y += 1;
    z += 2;
    const yc = y * c;
    const pk = pkm1 * z - pkm2 * yc;
    const qk = qkm1 * z - qkm2 * yc;
    if (qk !== 0) {
      const r = pk / qk;
      t = Math.abs((ans - r) / r);
      ans = r;
    } else t = 1;
    pkm2 = pkm1;
    pkm1 = pk;
    qkm2 = qkm1;
    qkm1 = qk;
    if (Math.abs(pk) > BIG) {
      pkm2 *= BIGINV;
      pkm1 *= BIGINV;
      qkm2 *= BIGINV;
      qkm1 *= BIGINV;
    }
  } while (t > MACHEP && c < 100000);
  return ans * ax;
}

/** Regularized lower incomplete gamma P(a, x) by its power series (cephes igam). */
function gammaPSeries(a: number, x: number): number {
  let ax = a * Math.log(x) - x - logGamma(a);
  if (ax < -MAXLOG) return 0;
  ax = Math.exp(ax);
  let r = a;
  let c = 1;
  let ans = 1;
  do {
    r += 1;
    c *= x / r;
    ans += c;
  } while (c / ans > MACHEP);
  return (ans * ax) / a;
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; about 15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  x -= 1;
  let s = LANCZOS[0];
  for (let i = 1; i < 9; i++) s += LANCZOS[i] / (x + i);
  const t = x + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}

// ---------------------------------------------------------------------------------------------------
// Jensen-Shannon distance

/**
 * scipy.spatial.distance.jensenshannon(p, q) with the natural logarithm (range 0 to sqrt(ln 2) ≈ 0.833):
 * both count vectors are normalized to sum to 1, m = (p + q) / 2, distance = sqrt((KL(p||m) + KL(q||m)) / 2).
 */
export function jensenShannon(p: number[], q: number[]): number {
  let sp = 0;
  let sq = 0;
  for (let i = 0; i < p.length; i++) {
    sp += p[i];
    sq += q[i];
  }
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] / sp;
    const b = q[i] / sq;
    const m = (a + b) / 2;
    if (a > 0) js += a * Math.log(a / m);
    if (b > 0) js += b * Math.log(b / m);
  }
  return Math.sqrt(Math.max(js, 0) / 2);
}
