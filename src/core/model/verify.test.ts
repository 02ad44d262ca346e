import { describe, expect, it } from 'vitest';
import { compareOutputs } from './verify.js';

const tol = { rtol: 1e-5, atol: 1e-6 };
const f32 = (values: number[], dims: number[]) => ({ type: 'float32', data: Float32Array.from(values), dims });

describe('compareOutputs', () => {
  it('accepts float32 rounding, NaN for NaN and equal labels; reports the largest difference', () => {
    const checks = compareOutputs(
      { p: [[0.1, Number.NaN]], label: [3] },
      { p: f32([0.1, Number.NaN], [1, 2]), label: { type: 'int64', data: BigInt64Array.from([3n]), dims: [1] } },
      tol,
    );
    expect(checks.map((c) => c.ok)).toEqual([true, true]);
    expect(checks[0].maxAbsDiff).toBeLessThan(1e-8);
  });

  it('fails a moved value, a changed shape, a missing output and a NaN where a number was', () => {
    const checks = compareOutputs(
      { a: [[1, 2]], b: [[1, 2]], c: [1], d: [1] },
      { a: f32([1, 2.5], [1, 2]), b: f32([1, 2], [2, 1]), d: f32([Number.NaN], [1]) },
      tol,
    );
    expect(checks).toEqual([
      { name: 'a', ok: false, values: 2, mismatched: 1, maxAbsDiff: 0.5 },
      { name: 'b', ok: false, values: 0, mismatched: 0, maxAbsDiff: null, reason: 'shape [2, 1], recorded [1, 2]' },
      { name: 'c', ok: false, values: 0, mismatched: 0, maxAbsDiff: null, reason: 'the model no longer has this output' },
      { name: 'd', ok: false, values: 1, mismatched: 1, maxAbsDiff: null },
    ]);
  });
});
