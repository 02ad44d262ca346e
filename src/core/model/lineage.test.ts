import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { onTestFinished } from 'vitest';
import { readLineage } from './lineage.js';

const h = (c: string) => c.repeat(64);

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlo-lineage-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeTree(dir: string, tree: Record<string, string>): void {
  for (const [rel, text] of Object.entries(tree)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
}

describe('readLineage', () => {
  it('reads params and data hashes from mlo.lock and metrics from declared and conventional files', () => {
    const dir = tempDir();
    writeTree(dir, {
      'mlo.lock': `schema: 1
stages:
  prepare:
    cmd: prep
    deps:
      - {path: data/raw.csv, hash: ${h('a')}, size: 10}
    outs:
      - {path: data/clean, hash: ${h('b')}.dir, size: 20, files: 2}
  train:
    cmd: train
    deps:
      - {path: data/clean, hash: ${h('b')}.dir, size: 20, files: 2}
    params:
      params.yaml: {train.lr: 0.1, train.epochs: 3}
      other.yaml: {seed: 7}
    outs:
      - {path: model.onnx, hash: ${h('c')}, size: 5}
`,
      'mlo.yaml': 'stages:\n  eval:\n    cmd: eval\n    metrics:\n      - eval/scores.json: {cache: false}\nmetrics: [extra.yaml]\n',
      'eval/scores.json': JSON.stringify({ auc: 0.91, per_class: { a: 0.5 }, note: 'text is skipped' }),
      'extra.yaml': 'latency_ms: 3\n',
      'metrics.json': '{"loss": 0.2}',
    });
    const l = readLineage(dir);
    expect(l.git).toBeUndefined();
    expect(l.params).toEqual({ 'train.lr': 0.1, 'train.epochs': 3, 'other.yaml:seed': 7 });
    expect(l.data).toEqual([
      { path: 'data/clean', hash: `${h('b')}.dir` },
      { path: 'data/raw.csv', hash: h('a') },
    ]);
    expect(l.metrics).toEqual({ 'eval/scores.json:auc': 0.91, 'eval/scores.json:per_class.a': 0.5, 'extra.yaml:latency_ms': 3, loss: 0.2 });
    expect(l.sources).toEqual(['mlo.lock', 'eval/scores.json', 'extra.yaml', 'metrics.json']);
  });

  it('skips files it cannot read and falls back to params.yaml without a lock', () => {
    const dir = tempDir();
    writeTree(dir, { 'mlo.yaml': ': not yaml [', 'metrics.json': '{broken', 'params.yaml': 'model:\n  depth: 4\n' });
    expect(readLineage(dir)).toEqual({ params: { 'model.depth': 4 }, sources: ['params.yaml'] });
    const bad = tempDir();
    writeTree(bad, { 'mlo.lock': 'stages: [1, 2]\n' });
    expect(readLineage(bad)).toEqual({ sources: ['mlo.lock'] });
  });
});
