import { describe, expect, it } from 'vitest';
import { evaluateGates, parseGateFlag } from './gates.js';
import type { FileDiff } from '../tracking/revisions.js';

function row(key: string, old: number | string | null, now: number | string | null, file = 'metrics.json'): FileDiff {
  const change = typeof old === 'number' && typeof now === 'number' ? now - old : null;
  return { file, key, old, new: now, change, pct: null };
}

describe('evaluateGates', () => {
  it('fails a metric worse than its threshold allows, in the declared direction', () => {
    const rows = [row('acc', 0.9, 0.85), row('loss', 0.3, 0.31)];
    const [acc, loss] = evaluateGates({ acc: { better: 'higher', threshold: 0.01 }, loss: { better: 'lower', threshold: 0.02 } }, rows);
    expect(acc).toMatchObject({ status: 'regressed', ok: false, base: 0.9, workspace: 0.85 });
    expect(acc.worsening).toBeCloseTo(0.05);
    expect(loss).toMatchObject({ status: 'passed', ok: true });
  });

  it('passes a worsening exactly at the threshold despite float rounding (0.9 - 0.89)', () => {
    expect(evaluateGates({ acc: { better: 'higher', threshold: 0.01 } }, [row('acc', 0.9, 0.89)])[0].status).toBe('passed');
    expect(evaluateGates({ acc: { better: 'higher', threshold: 0.01 } }, [row('acc', 0.9, 0.8899)])[0].status).toBe('regressed');
  });

  it('reads a percentage threshold as a share of the base value', () => {
    expect(evaluateGates({ loss: { better: 'lower', threshold: '10%' } }, [row('loss', 2, 2.2)])[0].status).toBe('passed');
    expect(evaluateGates({ loss: { better: 'lower', threshold: '10%' } }, [row('loss', 2, 2.21)])[0].status).toBe('regressed');
  });

  it('without a threshold any worsening fails and an improvement passes', () => {
    const gates = { acc: { better: 'higher' as const } };
    expect(evaluateGates(gates, [row('acc', 0.9, 0.8999)])[0].ok).toBe(false);
    expect(evaluateGates(gates, [row('acc', 0.9, 0.95)])[0].ok).toBe(true);
  });

  it('never passes a gate it could not judge: missing everywhere, removed, or not a number', () => {
    const gates = { auc: { better: 'higher' as const } };
    expect(evaluateGates(gates, [row('acc', 1, 1)])[0]).toMatchObject({ status: 'not-found', ok: false, file: null });
    expect(evaluateGates(gates, [row('auc', 0.7, null)])[0]).toMatchObject({ status: 'removed', ok: false });
    expect(evaluateGates(gates, [row('auc', 'high', 0.7)])[0]).toMatchObject({ status: 'not-a-number', ok: false });
    expect(evaluateGates(gates, [row('auc', null, 0.7)])[0]).toMatchObject({ status: 'new', ok: true });
  });

  it('matches KEY in every metrics file, FILE:KEY in one', () => {
    const rows = [row('acc', 0.9, 0.8, 'a.json'), row('acc', 0.9, 0.9, 'b.json')];
    expect(evaluateGates({ acc: { better: 'higher' } }, rows).map((r) => [r.file, r.ok])).toEqual([
      ['a.json', false],
      ['b.json', true],
    ]);
    expect(evaluateGates({ 'b.json:acc': { better: 'higher' } }, rows).map((r) => r.file)).toEqual(['b.json']);
  });
});

describe('parseGateFlag', () => {
  it('reads METRIC=higher|lower[:THRESHOLD], METRIC possibly FILE:KEY', () => {
    expect(parseGateFlag('acc=higher')).toEqual(['acc', { better: 'higher' }]);
    expect(parseGateFlag('acc=higher:0.01')).toEqual(['acc', { better: 'higher', threshold: 0.01 }]);
    expect(parseGateFlag('eval/m.json:loss=lower:2%')).toEqual(['eval/m.json:loss', { better: 'lower', threshold: '2%' }]);
  });

  it('refuses anything else', () => {
    for (const bad of ['acc', '=higher', 'acc=up', 'acc=higher:', 'acc=higher:-1', 'acc=higher:x', 'acc=lower:1:2', 'acc=higher:2 %']) {
      expect(parseGateFlag(bad), bad).toBeUndefined();
    }
  });
});
