import { describe, expect, it } from 'vitest';
import { createScheduler, type Scheduler, type SchedulerOptions } from './scheduler.js';

/** A graph from `stage: upstream...` pairs, in the order given (topological). */
function graph(edges: Record<string, string[]>, options: Partial<SchedulerOptions> = {}): Scheduler {
  const names = Object.keys(edges);
  return createScheduler({ names, upstream: new Map(names.map((n) => [n, edges[n]])), ...options });
}

/** Starts every stage the scheduler offers now, in order. */
function startAll(s: Scheduler): string[] {
  const started: string[] = [];
  for (let name = s.next(); name !== undefined; name = s.next()) {
    s.started(name);
    started.push(name);
  }
  return started;
}

/** Runs the whole graph one stage at a time; stages in `fail` fail. Returns the start order. */
function runSerially(s: Scheduler, fail: string[] = []): string[] {
  const order: string[] = [];
  for (let name = s.next(); name !== undefined; name = s.next()) {
    s.started(name);
    order.push(name);
    s.finished(name, !fail.includes(name));
  }
  return order;
}

describe('scheduler', () => {
  it('starts stages in dependency order, each once its upstream finished', () => {
    const s = graph({ prepare: [], train: ['prepare'], report: ['train'] }, { jobs: 4 });
    expect(startAll(s)).toEqual(['prepare']);
    s.finished('prepare', true);
    expect(startAll(s)).toEqual(['train']);
    s.finished('train', true);
    expect(startAll(s)).toEqual(['report']);
    expect(s.done()).toBe(false);
    s.finished('report', true);
    expect(s.done()).toBe(true);
    expect(s.unstarted()).toEqual([]);
  });

  it('settles stages that finish synchronously in one pass, in order', () => {
    const s = graph({ a: [], b: ['a'], c: [], d: ['b', 'c'] });
    expect(runSerially(s)).toEqual(['a', 'b', 'c', 'd']);
    expect(s.done()).toBe(true);
  });

  it('runs at most `jobs` stages at a time', () => {
    const s = graph({ a: [], b: [], c: [], d: [] }, { jobs: 2 });
    expect(startAll(s)).toEqual(['a', 'b']);
    s.finished('b', true);
    expect(startAll(s)).toEqual(['c']);
    expect(s.next()).toBeUndefined();
    s.finished('a', true);
    s.finished('c', true);
    expect(startAll(s)).toEqual(['d']);
  });

  it('counts at least one job', () => {
    const s = graph({ a: [], b: [] }, { jobs: 0 });
    expect(startAll(s)).toEqual(['a']);
  });

  it('starts a later independent stage while an earlier one waits on a running stage', () => {
    const s = graph({ a: [], b: ['a'], c: [] }, { jobs: 2 });
    expect(startAll(s)).toEqual(['a', 'c']);
    s.finished('c', true);
    expect(s.next()).toBeUndefined();
    s.finished('a', true);
    expect(startAll(s)).toEqual(['b']);
  });

  it('stops new starts after a failure without keepGoing', () => {
    const s = graph({ a: [], b: ['a'], c: [] });
    expect(runSerially(s, ['a'])).toEqual(['a']);
    expect(s.done()).toBe(true);
    expect(s.unstarted()).toEqual(['b', 'c']);
    expect(s.skipped().size).toBe(0);
  });

  it('lets running stages finish after a failure, starting nothing new', () => {
    const s = graph({ a: [], b: [], c: [] }, { jobs: 2 });
    expect(startAll(s)).toEqual(['a', 'b']);
    s.finished('a', false);
    expect(s.next()).toBeUndefined();
    expect(s.done()).toBe(false);
    s.finished('b', true);
    expect(s.done()).toBe(true);
    expect(s.unstarted()).toEqual(['c']);
  });

  it('stops new starts as soon as a stage is failing, though it still holds its slot', () => {
    const s = graph({ a: [], b: [], c: [] }, { jobs: 2 });
    startAll(s);
    s.failing('a');
    s.finished('b', true);
    expect(s.next()).toBeUndefined();
    s.finished('a', false);
    expect(s.unstarted()).toEqual(['c']);
  });

  it('with keepGoing, goes on with independent branches and skips the downstream of a failure', () => {
    const s = graph({ a: [], b: ['a'], c: ['b'], d: [], e: ['d'] }, { keepGoing: true });
    expect(runSerially(s, ['a'])).toEqual(['a', 'd', 'e']);
    expect(s.done()).toBe(true);
    // Each skipped stage names the upstream stage that stopped it.
    expect(s.skipped()).toEqual(
      new Map([
        ['b', 'a'],
        ['c', 'b'],
      ]),
    );
    expect(s.unstarted()).toEqual([]);
  });

  it('with keepGoing, a failing stage does not stop the others', () => {
    const s = graph({ a: [], b: [] }, { jobs: 2, keepGoing: true });
    expect(startAll(s)).toEqual(['a', 'b']);
    s.failing('a');
    s.finished('a', false);
    expect(s.done()).toBe(false);
    s.finished('b', true);
    expect(s.done()).toBe(true);
  });

  it('skips a stage as soon as one upstream failed, while another still runs', () => {
    const s = graph({ a: [], b: [], c: ['a', 'b'] }, { jobs: 2, keepGoing: true });
    startAll(s);
    s.finished('b', false);
    expect(s.next()).toBeUndefined();
    expect(s.skipped()).toEqual(new Map([['c', 'b']]));
    s.finished('a', true);
    expect(s.done()).toBe(true);
  });

  it('stop() ends the run: running stages finish, nothing new starts', () => {
    const s = graph({ a: [], b: [], c: ['a'] }, { jobs: 2, keepGoing: true });
    expect(startAll(s)).toEqual(['a', 'b']);
    s.stop();
    s.finished('a', true);
    expect(s.next()).toBeUndefined();
    expect(s.done()).toBe(false);
    s.finished('b', true);
    expect(s.done()).toBe(true);
    expect(s.unstarted()).toEqual(['c']);
  });

  it('stop() before anything started leaves every stage unstarted', () => {
    const s = graph({ a: [], b: ['a'] });
    s.stop();
    expect(s.done()).toBe(true);
    expect(s.unstarted()).toEqual(['a', 'b']);
  });

  describe('a diamond (a -> b, c -> d)', () => {
    const diamond = { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] };

    it('starts the join only once both branches finished', () => {
      const s = graph(diamond, { jobs: 4 });
      expect(startAll(s)).toEqual(['a']);
      s.finished('a', true);
      expect(startAll(s)).toEqual(['b', 'c']);
      s.finished('c', true);
      expect(s.next()).toBeUndefined();
      s.finished('b', true);
      expect(startAll(s)).toEqual(['d']);
    });

    it('skips the join when one branch fails, with keepGoing', () => {
      const s = graph(diamond, { jobs: 4, keepGoing: true });
      startAll(s);
      s.finished('a', true);
      startAll(s);
      s.finished('b', true);
      s.finished('c', false);
      expect(s.next()).toBeUndefined();
      expect(s.done()).toBe(true);
      expect(s.skipped()).toEqual(new Map([['d', 'c']]));
    });

    it('skips everything below a failed root, with keepGoing', () => {
      const s = graph(diamond, { keepGoing: true });
      expect(runSerially(s, ['a'])).toEqual(['a']);
      expect(s.skipped()).toEqual(
        new Map([
          ['b', 'a'],
          ['c', 'a'],
          ['d', 'b'],
        ]),
      );
    });
  });

  it('ignores upstream stages that are not scheduled', () => {
    const s = createScheduler({ names: ['b'], upstream: new Map([['b', new Set(['a'])]]) });
    expect(runSerially(s)).toEqual(['b']);
  });

  it('refuses names out of topological order, and stage misuse', () => {
    expect(() => graph({ b: ['a'], a: [] })).toThrow(/upstream of 'b'/);
    const s = graph({ a: [] });
    expect(() => s.finished('a', true)).toThrow(/not running/);
    s.started('a');
    expect(() => s.started('a')).toThrow(/twice/);
    expect(() => s.started('x')).toThrow(/not scheduled/);
  });
});
