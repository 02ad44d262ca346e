import { describe, expect, it } from 'vitest';
import { interpolateDeep, interpolateString, mergeVars } from './template.js';

const site = { where: 'mlo.yaml:3: stages.x.cmd' };

describe('templating', () => {
  const vars = { train: { lr: 0.1, layers: [8, 4] }, name: 'small', flags: { epochs: 3, fast: true, slow: false } };

  it('substitutes dotted keys and list indexes inside strings', () => {
    expect(interpolateString('python train.py --lr ${train.lr} --first ${train.layers[0]}', vars, site)).toBe('python train.py --lr 0.1 --first 8');
  });

  it('keeps the type of a whole-string reference outside cmd', () => {
    expect(interpolateString('${train.layers}', vars, site)).toEqual([8, 4]);
    expect(interpolateString('${train.lr}', vars, site)).toBe(0.1);
  });

  it('unpacks a map into --key value arguments in cmd, leaving out false flags', () => {
    expect(interpolateString('run ${flags}', vars, { ...site, cmd: true })).toBe('run --epochs 3 --fast');
  });

  it('leaves escaped references alone', () => {
    expect(interpolateString('echo \\${HOME} ${name}', vars, site)).toBe('echo ${HOME} small');
  });

  it('names the missing variable and the place', () => {
    expect(() => interpolateString('x ${nope.key}', vars, site)).toThrow(/mlo.yaml:3: stages.x.cmd: \$\{nope.key\} is not defined/);
  });

  it('refuses a map inside a plain string', () => {
    expect(() => interpolateString('data/${train}.csv', vars, site)).toThrow(/is a map/);
  });

  it('interpolates keys and nested values and merges vars deeply', () => {
    expect(interpolateDeep({ outs: [{ 'models/${name}.onnx': { cache: false } }] }, vars, site)).toEqual({ outs: [{ 'models/small.onnx': { cache: false } }] });
    expect(mergeVars({ a: { b: 1, c: 2 } }, { a: { c: 3 } })).toEqual({ a: { b: 1, c: 3 } });
  });
});
