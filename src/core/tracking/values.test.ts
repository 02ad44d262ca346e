import { describe, expect, it } from 'vitest';
import { isMloError } from '../../base/errors.js';
import { declaredFiles } from './declared.js';
import { flatten, lowerIsBetter, parseMetricsText, parseStepLines, toMetricValue } from './values.js';

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isMloError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected an MloError');
}

describe('flatten', () => {
  it('joins nested keys with dots, arrays by index', () => {
    expect(flatten({ a: { b: { c: 1 } }, l: [10, { x: 2 }], s: 'x' })).toEqual({ 'a.b.c': 1, 'l.0': 10, 'l.1.x': 2, s: 'x' });
  });
});

describe('toMetricValue', () => {
  it('keeps numbers, reads numeric strings, keeps anything else as text', () => {
    expect(toMetricValue(0.5)).toEqual({ value: 0.5, text: null });
    expect(toMetricValue('1e-3')).toEqual({ value: 0.001, text: null });
    expect(toMetricValue('n/a')).toEqual({ value: null, text: 'n/a' });
    expect(toMetricValue(true)).toEqual({ value: null, text: 'true' });
    expect(toMetricValue(Number.NaN)).toEqual({ value: null, text: 'NaN' });
    expect(toMetricValue(null)).toEqual({ value: null, text: 'null' });
  });
});

describe('parseMetricsText', () => {
  it('reads JSON and YAML, flattened', () => {
    expect(parseMetricsText('{"train": {"loss": 0.1}, "acc": 0.9}', 'm.json')).toEqual({ 'train.loss': 0.1, acc: 0.9 });
    expect(parseMetricsText('train:\n  loss: 0.1\nacc: 0.9\n', 'm.yaml')).toEqual({ 'train.loss': 0.1, acc: 0.9 });
  });

  it('names the file, line and column of invalid JSON', () => {
    const e = errorOf(() => parseMetricsText('{\n  "acc": 0.9,\n  "loss": ,\n}', 'metrics.json'));
    expect(e.code).toBe('MLO_BAD_METRICS');
    expect(e.message).toMatch(/^metrics\.json:3:\d+: invalid JSON/);
  });

  it('names the file, line and column of invalid YAML', () => {
    const e = errorOf(() => parseMetricsText('acc: 0.9\n  loss: [1,\n', 'metrics.yaml'));
    expect(e.message).toMatch(/^metrics\.yaml:\d+:\d+: invalid YAML/);
  });
});

describe('parseStepLines', () => {
  it('reads one record per line, step from the record or the line index', () => {
    const pts = parseStepLines('{"step": 3, "loss": 0.2}\n{"loss": 0.1, "acc": "n/a"}\n', 'f', 1000);
    expect(pts).toEqual([
      { key: 'loss', step: 3, value: 0.2, text: null, ts: 1000 },
      { key: 'loss', step: 1, value: 0.1, text: null, ts: 1000 },
      { key: 'acc', step: 1, value: null, text: 'n/a', ts: 1000 },
    ]);
  });

  it('skips a torn last line but reports a bad line elsewhere with its number', () => {
    expect(parseStepLines('{"loss": 1}\n{"loss": 0.', 'f')).toHaveLength(1);
    const e = errorOf(() => parseStepLines('{"loss": 1}\nnot json\n{"loss": 2}\n', 'series'));
    expect(e.message).toMatch(/^series:2:1: invalid JSON line: unexpected 'n'/);
  });

  it('flattens nested values', () => {
    expect(parseStepLines('{"step": 0, "val": {"loss": 2}}\n', 'f', 5)).toEqual([{ key: 'val.loss', step: 0, value: 2, text: null, ts: 5 }]);
  });
});

describe('lowerIsBetter', () => {
  it('treats loss- and error-like names as minimised', () => {
    expect(lowerIsBetter('train.loss')).toBe(true);
    expect(lowerIsBetter('rmse')).toBe(true);
    expect(lowerIsBetter('accuracy')).toBe(false);
  });
});

describe('declaredFiles', () => {
  it('collects metrics and params files of stages (with wdir) and the top level', () => {
    const text = `
metrics: [extra.json]
stages:
  train:
    cmd: x
    wdir: sub
    params: [lr, {conf/train.yaml: [epochs]}]
    metrics: [m.json, {scores.yaml: {cache: false}}]
  each:
    foreach: [a, b]
    do:
      cmd: y
      metrics:
        - \${item}.json
`;
    expect(declaredFiles(text)).toEqual({
      metrics: ['extra.json', 'sub/m.json', 'sub/scores.yaml'],
      params: ['params.yaml', 'sub/conf/train.yaml', 'sub/params.yaml'],
    });
    expect(declaredFiles('stages: [').metrics).toEqual([]);
  });
});
