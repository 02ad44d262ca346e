/**
 * Two-sample Kolmogorov-Smirnov test, two-sided, computed as scipy.stats.ks_2samp(method='auto') does:
 * the exact distribution of D when both samples have at most 10,000 values, otherwise the distribution
 * of the one-sample statistic D_n with n = round(n1*n2/(n1+n2)) (scipy's kstwo.sf). The p-value
 * routines are ports of scipy 1.17 (_stats_py.py, _stats_pythran.py, _ksstats.py) and of the
 * one-sided Smirnov sum of cephes kolmogorov.c, whose double-double arithmetic is replaced here by
 * terms summed in log space (relative error well under 1e-9 for n up to 10^6).
 *
 * One module: numerical routines ported together from scipy and Cephes; kept side by side so they can be read against their sources.
 */

export interface KsResult {
  statistic: number;
  pvalue: number;
  method: 'exact' | 'asymp';
}

/** scipy's MAX_AUTO_N: 'auto' is exact when both samples have at most this many values. */
const MAX_AUTO_N = 10000;

/** KS test on two samples that are already sorted ascending and hold no NaN. */
export function ksTwoSample(a: Float64Array, b: Float64Array): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ks_2samp needs two non-empty samples');
  let d = ksStatistic(a, b);
  const g = gcd(n1, n2);
  if (Math.max(n1, n2) <= MAX_AUTO_N) {
    const exact = exactPvalue(n1, n2, g, d);
    if (exact.ok) return { statistic: exact.d, pvalue: clip01(exact.p), method: 'exact' };
    d = exact.d;
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  return { statistic: d, pvalue: clip01(kolmogornSf(roundHalfEven(en), d)), method: 'asymp' };
}

/**
 * max |F1(x) - F2(x)| over all sample values, with both empirical CDFs taken right-continuous
 * (scipy evaluates searchsorted(side='right') at every value, so ties move together).
 */
export function ksStatistic(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxPos = 0;
  let maxNeg = 0;
  while (i < n1 && j < n2) {
    const x = a[i] <= b[j] ? a[i] : b[j];
    while (i < n1 && a[i] <= x) i++;
    while (j < n2 && b[j] <= x) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxPos) maxPos = diff;
    else if (-diff > maxNeg) maxNeg = -diff;
  }
  // Once one sample is exhausted its CDF is 1 and the gap only shrinks; nothing more to see.
  return Math.max(maxPos, maxNeg);
}

function exactPvalue(n1: number, n2: number, g: number, d: number): { ok: boolean; d: number; p: number } {
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const dr = h / lcm;
  if (h === 0) return { ok: true, d: dr, p: 1 };
  const p = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
  return { ok: Number.isFinite(p) && p >= 0 && p <= 1, d: dr, p };
}

/** Pr(D_{n,n} >= h/n), scipy's _compute_prob_outside_square. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * The share of lattice paths from (0,0) to (m,n) that leave the band |x/m - y/n| < h/lcm(m,n),
 * computed as 1-p directly (Viehmann 2021; scipy's _compute_outer_prob_inside_method).
 */
function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 >= n0 ? [m0, n0] : [n0, m0];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(Math.max(lenA, 1)).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1];
}

// ---------------------------------------------------------------------------------------------------
// Kolmogorov distribution of the one-sample two-sided statistic D_n (scipy.stats.kstwo), survival
// function only. Simard & L'Ecuyer (2011) choose the method by n and n*x^2.

const LOG_2PI = Math.log(2 * Math.PI);
const SQRT2PI = Math.sqrt(2 * Math.PI);
const MIN_LOG = -708;
const EP128 = 2 ** 128;
const EM128 = 2 ** -128;
const STIRLING = [
  -2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3, 8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
  -2.7777777777777777778e-3, 8.3333333333333333333e-2,
];

/** Pr(D_n >= x), scipy.stats.kstwo.sf(x, n). */
export function kolmogornSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    return clip01(1 - prob);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return clip01(1 - clip01(durbinMtw(n, x)));
    if (nxsquared <= 4) return clip01(1 - clip01(pomeranz(n, x)));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxsquared >= 370) return 0;
  if (nxsquared >= 2.2) return clip01(2 * smirnovSf(n, x));
  const cdf = n <= 100000 && n * x ** 1.5 <= 1.4 ? durbinMtw(n, x) : pelzGood(n, x);
  return clip01(1 - clip01(cdf));
}

function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * polyval(STIRLING, rn / n);
}

function polyval(coeffs: number[], x: number): number {
  let y = 0;
  for (const c of coeffs) y = y * x + c;
  return y;
}

/** Pr(D_n <= d) by Durbin's matrix method as Marsaglia, Tsang & Wang (2003) compute it. */
function durbinMtw(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  let H = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    v[j - 1] = 1 - h ** j;
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] *= fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - (i - 1)];
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r];
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c];

  let Hpwr = new Float64Array(m * m);
  for (let i = 0; i < m; i++) Hpwr[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let Hexpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      Hpwr = matmul(Hpwr, H, m);
      expnt += Hexpnt;
    }
    H = matmul(H, H, m);
    Hexpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]) > EP128) {
      for (let i = 0; i < H.length; i++) H[i] /= EP128;
      Hexpnt += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = Hpwr[(k - 1) * m + (k - 1)];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      expnt -= 128;
    }
  }
  if (expnt !== 0) p = p * 2 ** expnt;
  return clip01(p);
}

function matmul(A: Float64Array, B: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const C = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const a = A[i * m + l];
      if (a === 0) continue;
      const bRow = l * m;
      const cRow = i * m;
      for (let j = 0; j < m; j++) C[cRow + j] += a * B[bRow + j];
    }
  }
  return C;
}

function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pr(D_n <= x) by the Pomeranz (1974) recursion (used for n <= 140). */
function pomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let k = 1; k < npwrs; k++) {
    gpower[k] = (gpower[k - 1] * gOverN) / k;
    twogpower[k] = (twogpower[k - 1] * twoGOverN) / k;
    onem2gpower[k] = (onem2gpower[k - 1] * oneMinusTwoGOverN) / k;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1, j2] = pomeranzJ1J2(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // conv = np.convolve(V0[k1 - V0s : k1 - V0s + ln2], pwrs[:ln2]); take conv[j1-k1 : j1-k1+len].
      const off = k1 - V0s;
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      let max = 0;
      const la = Math.min(ln2, npwrs - off);
      const lb = Math.min(ln2, npwrs);
      for (let c = 0; c < convLen; c++) {
        const idx = convStart + c;
        let s = 0;
        for (let a = Math.max(0, idx - lb + 1); a <= Math.min(idx, la - 1); a++) s += V0[off + a] * pwrs[idx - a];
        V1[c] = s;
        if (s > max) max = s;
      }
      if (max > 0 && max < EM128) {
        for (let c = 0; c < V1.length; c++) V1[c] *= EP128;
        expnt -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s];
  for (let k = 1; k <= n; k++) {
    if (Math.abs(ans) > EP128) {
      ans *= EM128;
      expnt += 128;
    }
    ans *= k;
  }
  if (expnt !== 0) ans = ans * 2 ** expnt;
  return clip01(ans);
}

/** The Pelz-Good (1976) approximation to Pr(D_n <= x). */
function pelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -(Math.PI * Math.PI) / 8 / z2;
  if (qlog < MIN_LOG) return 0;
  let q = Math.exp(qlog);
  const PI2 = Math.PI ** 2;
  const PI4 = Math.PI ** 4;
  const PI6 = Math.PI ** 6;
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i] * qpower + coeffs[i];
  }
  const div = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i] * q * SQRT2PI) / div[i];
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = Math.sqrt(3) * z;
  for (let k = maxk; k > 0; k--) {
    const ks2 = k * k;
    const qp = q ** ks2;
    k2extra += ks2 * qp;
    const kspi = Math.PI * k;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
  }
  K[2] += (k2extra * PI2 * SQRT2PI) / (-36 * z3);
  K[3] += (k3extra * PI2 * SQRT2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i] / n ** (i / 2);
  return sum;
}

// ---------------------------------------------------------------------------------------------------
// One-sided Smirnov distribution (scipy.special.smirnov): Pr(D_n^+ >= x).

const SMIRNOV_MAX_COMPUTE_N = 1000000;
const MINLOG = -708.3964185322641;

/** Pr(D_n^+ >= x) by the Birnbaum-Tingey sum. */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  // floor(n*x) and the remainder, exactly (n*x is rounded; its error term says which side it fell on).
  const [nx, err] = twoProduct(n, x);
  let nxfl = Math.floor(nx);
  let alpha = nx - nxfl + err;
  if (alpha < 0) {
    nxfl -= 1;
    alpha += 1;
  }
  if (alpha >= 1) {
    nxfl += 1;
    alpha = 0;
  }
  let n1mxfl = n - nxfl - (alpha === 0 ? 0 : 1);
  if (alpha === 0) n1mxfl -= 1;
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    const t = (1 + x) ** (n - 1);
    return clip01(1 - x * t);
  }
  if (-2 * n * x * x < MINLOG) return 0;
  if (nxfl >= n - 1) return clip01((1 - x) ** n);
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    return logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp);
  }
  const nTerms = n1mxfl + 1;
  const vmid = Math.floor(n / 2);
  // Term v: C(n,v) (x + v/n)^(v-1) (1 - x - v/n)^(n-v); the v = 0 term is (1-x)^n / x.
  let logC = 0;
  let sum = Math.exp(n * Math.log1p(-x) - Math.log(x));
  for (let v = 1; v < nTerms; v++) {
    logC += Math.log((n - v + 1) / v);
    const base = (n - v) / n - x;
    const term = base > 0 ? Math.exp(logC + (v - 1) * Math.log(x + v / n) + (n - v) * Math.log(base)) : 0;
    if (term !== 0 && Number.isFinite(term)) sum += term;
    if (term !== 0) {
      if (4 * (nTerms - v) * Math.abs(term) < Number.EPSILON * sum && v !== nTerms - 1) break;
    } else if (v > vmid) break;
  }
  return clip01(x * sum);
}

/** a*b as an unevaluated sum hi + lo (Dekker's algorithm; exact). */
function twoProduct(a: number, b: number): [number, number] {
  const p = a * b;
  const SPLIT = 134217729; // 2^27 + 1
  const ca = SPLIT * a;
  const ahi = ca - (ca - a);
  const alo = a - ahi;
  const cb = SPLIT * b;
  const bhi = cb - (cb - b);
  const blo = b - bhi;
  const err = alo * blo - (p - ahi * bhi - alo * bhi - ahi * blo);
  return [p, err];
}

// ---------------------------------------------------------------------------------------------------

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** numpy.round: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function clip01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}
