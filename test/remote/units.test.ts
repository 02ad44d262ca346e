/** Pure pieces of the storage layer: layout, backoff, retries, the memory budget. */
import { describe, expect, it } from 'vitest';
import { hashOfKey, objectKey } from '../../src/storage/layout.js';
import { ByteBudget } from '../../src/storage/pool.js';
import { backoffMs, isTransient, withRetries } from '../../src/storage/retry.js';

const hash = 'ab'.padEnd(64, '0');

describe('layout', () => {
  it('maps hashes to the cache layout and back, and ignores foreign keys', () => {
    expect(objectKey(hash)).toBe(`ab/${hash.slice(2)}`);
    expect(objectKey(`${hash}.dir`)).toBe(`ab/${hash.slice(2)}.dir`);
    expect(hashOfKey(objectKey(hash))).toBe(hash);
    expect(hashOfKey(objectKey(`${hash}.dir`))).toBe(`${hash}.dir`);
    for (const k of ['ab/short', 'README.md', `ab/${hash.slice(2)}.tmp`, `.mlo-tmp-x`, `AB/${hash.slice(2)}`]) expect(hashOfKey(k)).toBeUndefined();
  });
});

describe('retries', () => {
  const policy = { attempts: 4, baseMs: 100, capMs: 1000 };

  it('backs off exponentially with full jitter, capped', () => {
    for (let retry = 1; retry <= 8; retry++) {
      for (let i = 0; i < 50; i++) {
        const d = backoffMs(policy, retry);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(1000, 100 * 2 ** retry));
      }
    }
  });

  it('retries transient errors only, up to the attempts', async () => {
    const fast = { ...policy, baseMs: 1 };
    let n = 0;
    await expect(
      withRetries(fast, async () => {
        n++;
        throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      }),
    ).rejects.toThrow('reset');
    expect(n).toBe(4);
    n = 0;
    await expect(
      withRetries(fast, async () => {
        n++;
        throw Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      }),
    ).rejects.toThrow('denied');
    expect(n).toBe(1);
    n = 0;
    expect(
      await withRetries(fast, async () =>
        ++n < 3 ? Promise.reject(Object.assign(new Error('slow'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } })) : 'ok',
      ),
    ).toBe('ok');
    expect(n).toBe(3);
  });

  it('classifies throttling, 5xx, resets and stalls as transient', () => {
    expect(isTransient(Object.assign(new Error(), { $metadata: { httpStatusCode: 500 } }))).toBe(true);
    expect(isTransient(Object.assign(new Error(), { name: 'SlowDown' }))).toBe(true);
    expect(isTransient(Object.assign(new Error(), { name: 'StallError' }))).toBe(true);
    expect(isTransient(Object.assign(new Error('socket hang up'), {}))).toBe(true);
    expect(isTransient(Object.assign(new Error(), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }))).toBe(false);
  });
});

describe('ByteBudget', () => {
  it('lets transfers through while they fit, in order, and never deadlocks on a giant', async () => {
    const budget = new ByteBudget(100);
    const order: string[] = [];
    const a = await budget.acquire(60);
    const b = budget.acquire(60).then((r) => {
      order.push('b');
      return r;
    });
    const c = budget.acquire(10).then((r) => {
      order.push('c');
      return r;
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual([]);
    a();
    (await b)();
    (await c)();
    expect(order).toEqual(['b', 'c']);
    const giant = await budget.acquire(1000);
    giant();
    giant();
    (await budget.acquire(100))();
  });
});
