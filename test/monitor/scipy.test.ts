/**
 * The drift statistics agree with scipy / numpy on the same data (within 1e-6, relative for p-values
 * far from 0). Skips, saying why, where python3 with scipy and numpy is missing.
 */
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { kolmogornSf, ksTwoSample, smirnovSf } from '../../src/core/monitor/ks.js';
import { chi2Homogeneity, jensenShannon, psi } from '../../src/core/monitor/stats.js';
import { pythonWith } from '../helpers.js';
import { seeded } from '../../src/core/monitor/infer.js';

let python: string | undefined;
beforeAll(async () => {
  python = await pythonWith('scipy', 'numpy');
  if (!python) console.warn('skipping scipy comparisons: python3 with scipy and numpy is not installed');
});

async function py<T>(script: string, input: unknown): Promise<T> {
  const r = await execa(python!, ['-c', script], { input: JSON.stringify(input) });
  return JSON.parse(r.stdout) as T;
}

/** Deterministic pseudo-random numbers (mulberry32, the generator schema inference uses) so failures reproduce. */
const rng = seeded;

function normal(r: () => number, n: number, mean = 0, sd = 1, round?: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = mean + sd * Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
    out.push(round === undefined ? v : Math.round(v * round) / round);
  }
  return out;
}

function sorted(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

function close(actual: number, expected: number, tol = 1e-6): void {
  const scale = Math.max(1, Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tol * scale)) {
    expect.fail(`expected ${actual} to be within ${tol} of ${expected}`);
  }
}

/** p-values: absolute 1e-6, and relative 1e-6 when both are tiny but non-zero. */
function closeP(actual: number, expected: number): void {
  close(actual, expected);
  if (expected > 1e-300 && expected < 1e-3) {
    if (!(Math.abs(actual - expected) <= 1e-6 * expected)) expect.fail(`p-value ${actual} vs scipy ${expected} (relative)`);
  }
}

const KS_SCRIPT = `
import json, sys
import numpy as np
from scipy import stats
out = []
for a, b in json.load(sys.stdin):
    r = stats.ks_2samp(np.array(a, dtype=float), np.array(b, dtype=float), method='auto')
    out.append([float(r.statistic), float(r.pvalue)])
print(json.dumps(out))
`;

describe('KS test against scipy.stats.ks_2samp', () => {
  it('agrees on exact and asymptotic cases, with ties and unequal sizes', async (ctx) => {
    if (!python) return ctx.skip();
    const r = rng(7);
    const cases: [number[], number[]][] = [
      [normal(r, 50), normal(r, 60, 0.3)],
      [normal(r, 200), normal(r, 200)],
      [normal(r, 300, 0, 1, 10), normal(r, 250, 0.1, 1, 10)], // heavy ties
      [normal(r, 1000), normal(r, 1000, 0.05)],
      [normal(r, 3), normal(r, 4, 2)],
      [normal(r, 7), normal(r, 7, 1)],
      [normal(r, 9999), normal(r, 10000, 0.02)], // exact, unequal
      [normal(r, 12000), normal(r, 11000, 0.02)], // asymptotic, moderate D
      [normal(r, 20000), normal(r, 15000, 0.5)], // asymptotic, tiny p
      [normal(r, 20000), normal(r, 40)], // asymptotic with small en (n <= 140 branch)
      [normal(r, 15000), normal(r, 130, 0.4)],
      [normal(r, 30000), normal(r, 2000, 0.01)], // n*x^2 small: Durbin matrix branch
      [normal(r, 200000, 0, 1, 100), normal(r, 150000, 0.003, 1, 100)], // large n: Pelz-Good / Smirnov sum
    ];
    const expected = await py<[number, number][]>(KS_SCRIPT, cases);
    cases.forEach(([a, b], i) => {
      const got = ksTwoSample(sorted(a), sorted(b));
      close(got.statistic, expected[i][0]);
      closeP(got.pvalue, expected[i][1]);
    });
  });

  it('computes scipy.stats.kstwo.sf and scipy.special.smirnov across their branches', async (ctx) => {
    if (!python) return ctx.skip();
    const points: [number, number][] = [];
    for (const n of [1, 2, 5, 10, 50, 140, 141, 500, 5000, 100000, 100001, 500000, 1000000]) {
      // z = sqrt(n) * x spans every branch; scipy takes a second or more per point for n >= 500000.
      const zs = n >= 500000 ? [0.5, 1.0, 1.6, 3.0] : [0.2, 0.5, 0.8, 1.0, 1.3, 1.6, 2.0, 3.0, 5.0];
      for (const z of zs) points.push([n, Math.min(z / Math.sqrt(n), 0.999)]);
      points.push([n, 0.6], [n, 0.75 / n]);
    }
    const script = `
import json, sys
from scipy import stats, special
pts = json.load(sys.stdin)
# smirnov only where kstwo uses it (n <= 140, x >= 0.5, or n*x^2 >= 2.2): elsewhere scipy takes seconds.
use = lambda n, x: n <= 140 or x >= 0.5 or n * x * x >= 2.2
print(json.dumps([[float(stats.kstwo.sf(x, n)), float(special.smirnov(n, x)) if use(n, x) else None] for n, x in pts]))
`;
    const expected = await py<[number, number | null][]>(script, points);
    points.forEach(([n, x], i) => {
      closeP(kolmogornSf(n, x), expected[i][0]);
      const smirnov = expected[i][1];
      if (smirnov !== null) closeP(smirnovSf(n, x), smirnov);
    });
  });
});

describe('PSI, chi-square and Jensen-Shannon against numpy / scipy', () => {
  it('PSI on the reference deciles matches the same binning in numpy', async (ctx) => {
    if (!python) return ctx.skip();
    const r = rng(11);
    const cases: [number[], number[], number][] = [
      [normal(r, 1000), normal(r, 800, 0.2), 10],
      [normal(r, 5000, 0, 1, 4), normal(r, 5000, 0.5, 1.2, 4), 10], // ties on edges, merged edges
      [normal(r, 101), normal(r, 57, 3), 10], // empty bins
      [normal(r, 2000), normal(r, 2000), 20],
    ];
    const script = `
import json, sys
import numpy as np
out = []
for ref, cur, bins in json.load(sys.stdin):
    ref = np.array(ref); cur = np.array(cur)
    edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
    rc = np.bincount(np.searchsorted(edges, ref, side='right'), minlength=len(edges) + 1) / len(ref)
    cc = np.bincount(np.searchsorted(edges, cur, side='right'), minlength=len(edges) + 1) / len(cur)
    rc = np.where(rc == 0, 1e-4, rc); cc = np.where(cc == 0, 1e-4, cc)
    out.append(float(np.sum((cc - rc) * np.log(cc / rc))))
print(json.dumps(out))
`;
    const expected = await py<number[]>(script, cases);
    cases.forEach(([ref, cur, bins], i) => close(psi(sorted(ref), sorted(cur), bins).psi, expected[i]));
  });

  it('chi-square matches scipy.stats.chi2_contingency and JS matches scipy jensenshannon', async (ctx) => {
    if (!python) return ctx.skip();
    const cases: [number[], number[]][] = [
      [
        [50, 30, 20],
        [45, 35, 20],
      ],
      [
        [500, 300, 200, 0],
        [300, 300, 300, 100],
      ],
      [
        [10, 90],
        [20, 80],
      ], // one degree of freedom: Yates correction
      [
        [1000, 1000],
        [1000, 1000],
      ],
      [
        [5, 3, 2, 8, 1, 40, 33],
        [6, 3, 9, 1, 0, 30, 51],
      ],
      [
        [100000, 200000, 300000],
        [100500, 199000, 301000],
      ],
      [[7], [9]],
    ];
    const script = `
import json, sys
import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon
out = []
for ref, cur in json.load(sys.stdin):
    if len(ref) > 1:
        r = stats.chi2_contingency(np.array([ref, cur]))
        chi = [float(r.statistic), float(r.pvalue), int(r.dof)]
    else:
        chi = [0.0, 1.0, 0]
    out.append(chi + [float(jensenshannon(np.array(ref, dtype=float), np.array(cur, dtype=float)))])
print(json.dumps(out))
`;
    const expected = await py<[number, number, number, number][]>(script, cases);
    cases.forEach(([ref, cur], i) => {
      const chi = chi2Homogeneity(ref, cur);
      close(chi.statistic, expected[i][0]);
      closeP(chi.pvalue, expected[i][1]);
      expect(chi.dof).toBe(expected[i][2]);
      close(jensenShannon(ref, cur), expected[i][3]);
    });
  });
});
