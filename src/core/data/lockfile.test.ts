import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { outsFromLockDoc } from './tracked.js';
import { parseLockText, serializeLock, type LockDoc } from './lockfile.js';

const h = (c: string) => c.repeat(64);

describe('mlo.lock serialization', () => {
  const doc: LockDoc = {
    schema: 1,
    stages: {
      train: {
        cmd: 'python train.py',
        outs: [
          { path: 'model.onnx', hash: h('b'), size: 10 },
          { path: 'metrics.json', hash: h('c'), size: 5, cache: false },
        ],
        params: { 'params.yaml': { 'train.lr': 0.1, 'train.epochs': 3 } },
        deps: [{ path: 'data', hash: `${h('a')}.dir`, size: 100, files: 2 }],
      },
      prepare: { cmd: 'prep', deps: [], params: {}, outs: [{ path: 'data', hash: `${h('a')}.dir`, size: 100, files: 2 }] },
    },
  };

  it('writes stages by name and keys in a fixed order, and reads back the same', () => {
    const text = serializeLock(doc);
    expect(text.indexOf('prepare:')).toBeLessThan(text.indexOf('train:'));
    const train = text.slice(text.indexOf('train:'));
    expect(train.indexOf('cmd:')).toBeLessThan(train.indexOf('deps:'));
    expect(train.indexOf('deps:')).toBeLessThan(train.indexOf('params:'));
    expect(train.indexOf('params:')).toBeLessThan(train.indexOf('outs:'));
    expect(train.indexOf('train.epochs')).toBeLessThan(train.indexOf('train.lr'));
    expect(serializeLock(parseLockText(text))).toBe(text);
  });

  it('keeps the out shape the core reads (tracked.ts outsFromLockDoc)', () => {
    const outs = outsFromLockDoc(parse(serializeLock(doc)));
    expect(outs).toEqual([
      { path: 'data', hash: `${h('a')}.dir`, size: 100, files: 2, stage: 'prepare' },
      { path: 'model.onnx', hash: h('b'), size: 10, files: undefined, stage: 'train' },
    ]);
  });

  it('rejects a lock from a newer mlo with the line', () => {
    expect(() => parseLockText('schema: 2\nstages: {}\n')).toThrow(/mlo.lock:1: schema/);
  });
});
