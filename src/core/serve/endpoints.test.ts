import { describe, expect, it } from 'vitest';
import { pickTarget, type Endpoint, type Target } from './endpoints.js';

function endpoint(weights: number[]): Endpoint {
  const targets = weights.map((_, i) => ({ name: 'churn', version: i + 1, versionText: String(i + 1) }) as Target);
  return { name: 'churn', targets, weights, current: weights.map(() => 0), total: weights.reduce((a, b) => a + b, 0) };
}

describe('pickTarget', () => {
  it('splits traffic in exact proportion to the weights, evenly interleaved (smooth weighted round-robin)', () => {
    const ep = endpoint([5, 1, 1]);
    const picks = Array.from({ length: 14 }, () => pickTarget(ep).versionText).join('');
    expect(picks).toBe('11213111121311');
  });

  it('answers every request with the only target when there is one', () => {
    const ep = endpoint([1]);
    expect(new Set(Array.from({ length: 3 }, () => pickTarget(ep)))).toEqual(new Set([ep.targets[0]]));
  });
});
