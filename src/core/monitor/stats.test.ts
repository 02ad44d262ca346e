import { describe, expect, it } from 'vitest';
import { kolmogornSf, ksStatistic, ksTwoSample, roundHalfEven } from './ks.js';
import { binCounts, chi2Homogeneity, chi2Sf, jensenShannon, psi, quantileSorted } from './stats.js';

const f64 = (xs: number[]) => Float64Array.from(xs).sort();

// Expected values computed once with scipy 1.17 / numpy 2.4 (the scipy comparison suite in
// test/monitor/scipy.test.ts checks many more cases live).
describe('Kolmogorov-Smirnov', () => {
  it('matches scipy.stats.ks_2samp on small samples (exact p-value)', () => {
    const r = ksTwoSample(f64([0.1, 0.5, 0.9, 1.3, 2.0, 2.2]), f64([0.4, 0.6, 1.5, 2.5, 3.0, 3.1, 3.5]));
    expect(r.method).toBe('exact');
    expect(r.statistic).toBeCloseTo(0.5714285714285714, 12);
    expect(r.pvalue).toBeCloseTo(0.14685314685314685, 12);
  });

  it('moves tied values together, as scipy does', () => {
    const a = f64([1, 2, 2, 3, 3, 3]);
    const b = f64([2, 3, 3, 4, 4]);
    expect(ksStatistic(a, b)).toBeCloseTo(0.4, 12);
    expect(ksTwoSample(a, b).pvalue).toBeCloseTo(0.6883116883116883, 12);
  });

  it('gives D = 0 and p = 1 for identical samples and D = 1 for disjoint ones', () => {
    const a = f64([1, 2, 3, 4]);
    expect(ksTwoSample(a, a)).toMatchObject({ statistic: 0, pvalue: 1 });
    expect(ksTwoSample(a, f64([10, 11, 12])).statistic).toBe(1);
  });

  it('switches to the asymptotic distribution above 10,000 values', () => {
    const a = new Float64Array(10001).map((_, i) => i);
    const b = new Float64Array(10001).map((_, i) => i + 100);
    const r = ksTwoSample(a, b);
    expect(r.method).toBe('asymp');
    expect(r.statistic).toBeCloseTo(100 / 10001, 12);
  });

  it('computes scipy.stats.kstwo.sf', () => {
    expect(kolmogornSf(1000, 0.05)).toBeCloseTo(0.013012074781090332, 12);
    expect(kolmogornSf(30, 0.2)).toBeCloseTo(0.15796916101547398, 12);
    expect(kolmogornSf(10, 0)).toBe(1);
    expect(kolmogornSf(10, 1)).toBe(0);
  });

  it('rounds halves to even like numpy', () => {
    expect([0.5, 1.5, 2.5, 3.4, 3.6].map(roundHalfEven)).toEqual([0, 2, 2, 3, 4]);
  });
});

describe('PSI', () => {
  it('uses numpy linear quantiles of the reference as edges', () => {
    const s = f64([3, 1, 4, 1, 5, 9, 2, 6]);
    expect([0.1, 0.25, 0.5, 0.9].map((q) => quantileSorted(s, q))).toEqual([1, 1.75, 3.5, 6.9].map((v) => expect.closeTo(v, 12)));
  });

  it('puts a value equal to an edge in the bin above (searchsorted side=right)', () => {
    expect(binCounts(f64([1, 2, 2, 3, 4]), [2, 3])).toEqual([1, 2, 2]);
  });

  it('is 0 for the same distribution and grows with a shift', () => {
    const ref = f64(Array.from({ length: 1000 }, (_, i) => i));
    expect(psi(ref, ref).psi).toBe(0);
    const shifted = f64(Array.from({ length: 1000 }, (_, i) => i + 300));
    expect(psi(ref, shifted).psi).toBeGreaterThan(0.2);
  });

  it('merges duplicate edges and keeps empty bins finite', () => {
    const ref = f64([0, 0, 0, 0, 0, 0, 0, 0, 1, 2]);
    const r = psi(ref, f64([5, 5, 5]));
    expect(r.edges).toEqual([0, expect.closeTo(0.2, 12), expect.closeTo(1.1, 12)]);
    expect(Number.isFinite(r.psi)).toBe(true);
  });
});

describe('chi-square and Jensen-Shannon', () => {
  it('matches scipy.stats.chi2_contingency, with Yates correction for two categories', () => {
    const r = chi2Homogeneity([50, 30, 20], [45, 35, 20]);
    expect(r.dof).toBe(2);
    expect(r.statistic).toBeCloseTo(0.6477732793522267, 12);
    expect(r.pvalue).toBeCloseTo(0.7233322349088317, 12);
    const y = chi2Homogeneity([10, 90], [20, 80]);
    expect(y.statistic).toBeCloseTo(3.1764705882352944, 12);
    expect(y.pvalue).toBeCloseTo(0.07470593331213068, 12);
  });

  it('has no test for a single category', () => {
    expect(chi2Homogeneity([5], [9])).toEqual({ statistic: 0, pvalue: 1, dof: 0 });
  });

  it('computes the chi-square survival function', () => {
    expect(chi2Sf(3.5, 1)).toBeCloseTo(0.0613688291394023, 12);
    expect(chi2Sf(250, 200)).toBeCloseTo(0.009379131668826098, 12);
    expect(chi2Sf(0.5, 7)).toBeCloseTo(0.9994464813904249, 12);
  });

  it('computes the Jensen-Shannon distance with the natural log', () => {
    expect(jensenShannon([1, 2, 3], [3, 2, 1])).toBeCloseTo(0.29531004717204934, 12);
    expect(jensenShannon([1, 1], [2, 2])).toBe(0);
    expect(jensenShannon([1, 0], [0, 1])).toBeCloseTo(Math.sqrt(Math.LN2), 12);
  });
});
