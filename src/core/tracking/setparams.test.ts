import { describe, expect, it } from 'vitest';
import { applyToText, expandGrid, parseSetArg } from './setparams.js';

describe('parseSetArg', () => {
  it('reads file, key and typed values', () => {
    expect(parseSetArg('lr=0.1')).toEqual({ file: 'params.yaml', key: 'lr', values: [0.1] });
    expect(parseSetArg('conf/train.yaml:opt.name=adam')).toEqual({ file: 'conf/train.yaml', key: 'opt.name', values: ['adam'] });
    expect(parseSetArg('flag=true').values).toEqual([true]);
  });

  it('expands lists and ranges', () => {
    expect(parseSetArg('lr=0.1,0.01').values).toEqual([0.1, 0.01]);
    expect(parseSetArg('depth=range(2,8)').values).toEqual([2, 3, 4, 5, 6, 7]);
    expect(parseSetArg('x=range(0,1,0.25)').values).toEqual([0, 0.25, 0.5, 0.75]);
    expect(parseSetArg('l=[1,2]').values).toEqual(['[1,2]']);
  });

  it('rejects malformed arguments as usage errors', () => {
    expect(() => parseSetArg('lr')).toThrow(/expected \[FILE:\]KEY=VALUE/);
    expect(() => parseSetArg('d=range(1,2,0)')).toThrow(/step must not be 0/);
    expect(() => parseSetArg('../x.yaml:a=1')).toThrow(/inside the repository/);
  });
});

describe('expandGrid', () => {
  it('is the cartesian product of the axes', () => {
    const grid = expandGrid([parseSetArg('lr=0.1,0.01'), parseSetArg('depth=range(2,5)')]);
    expect(grid).toHaveLength(6);
    expect(grid[5]).toEqual([
      { file: 'params.yaml', key: 'lr', value: 0.01 },
      { file: 'params.yaml', key: 'depth', value: 4 },
    ]);
  });
});

describe('applyToText', () => {
  it('sets nested YAML keys and keeps comments', () => {
    const out = applyToText('# learning\nlr: 0.1 # rate\nmodel:\n  depth: 3\n', 'params.yaml', [
      { key: 'lr', value: 0.01 },
      { key: 'model.depth', value: 5 },
      { key: 'new.key', value: 'x' },
    ]);
    expect(out).toContain('# learning');
    expect(out).toContain('lr: 0.01 # rate');
    expect(out).toContain('depth: 5');
    expect(out).toMatch(/new:\n\s+key: x/);
  });

  it('sets JSON keys', () => {
    expect(JSON.parse(applyToText('{"a": {"b": 1}}', 'p.json', [{ key: 'a.b', value: 2 }]))).toEqual({ a: { b: 2 } });
  });

  it('refuses to set a key under a scalar', () => {
    expect(() => applyToText('lr: 0.1\n', 'params.yaml', [{ key: 'lr.x', value: 1 }])).toThrow(/lr is a value/);
  });
});
