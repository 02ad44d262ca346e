import { describe, expect, it } from 'vitest';
import { sortFloat64 } from './sort.js';

function sameOrder(values: number[]): void {
  const expected = Float64Array.from(values).sort();
  const actual = sortFloat64(Float64Array.from(values));
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) expect.fail(`index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('sortFloat64', () => {
  it('orders like Float64Array.prototype.sort, including -0, infinities, subnormals and ties', () => {
    let seed = 99;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const values: number[] = [];
    for (let i = 0; i < 50000; i++) {
      const r = rand();
      values.push(r < 0.1 ? Math.round(rand() * 10) - 5 : r < 0.2 ? (rand() - 0.5) * 1e300 : r < 0.25 ? (rand() - 0.5) * 1e-310 : (rand() - 0.5) * 100);
    }
    values.push(-0, 0, -0, Infinity, -Infinity, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE);
    sameOrder(values);
  });

  it('sorts a subarray in place without touching the rest of the buffer', () => {
    const buf = Float64Array.from({ length: 10000 }, (_, i) => 10000 - i);
    const view = buf.subarray(100, 9000);
    sortFloat64(view);
    expect(view[0]).toBe(1001);
    expect(view[view.length - 1]).toBe(9900);
    expect(buf[0]).toBe(10000);
    expect(buf[9999]).toBe(1);
  });

  it('handles small arrays and arrays of one value', () => {
    sameOrder([3, -1, 2]);
    sameOrder([]);
    sameOrder(Array.from({ length: 5000 }, () => 7));
  });
});
