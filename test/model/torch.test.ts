/**
 * A model exported from PyTorch (bench/peers/export_torch_mlp.py) through inspect, package, serve and
 * predict, checked against PyTorch's own outputs. Needs Python with torch and onnx: MLO_PYTHON or
 * .venv/bin/python in the checkout (.ci/run builds it); skipped with a message otherwise.
 */
import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, json, makeRepo, mlo, read, writeTree } from '../helpers.js';
import { post, serve, torchPython } from './fixtures.js';

const python = await torchPython();
if (!python) console.warn('skipping the PyTorch export test: no Python with torch and onnx (set MLO_PYTHON, or build .venv as .ci/run does)');

describe.skipIf(!python)('a model exported from PyTorch', () => {
  it('inspects, packages, serves and predicts like PyTorch computes', { timeout: 180_000 }, async () => {
    const rows = Array.from({ length: 5 }, (_, i) => Array.from({ length: 8 }, (_, j) => ((i * 8 + j) % 11) / 5 - 1));
    const repo = await makeRepo({ 'x.csv': `${rows.map((r) => r.join(',')).join('\n')}\n` }, { commit: true });
    const exported = await execa(
      python!,
      [join(ROOT, 'bench/peers/export_torch_mlp.py'), 'mlp.onnx', '--features', '8', '--hidden', '16', '--classes', '3', '--predict', 'x.csv'],
      { cwd: repo, reject: false },
    );
    expect(exported.exitCode, exported.stderr).toBe(0);
    const expected: number[][] = JSON.parse(read(repo, 'mlp.onnx.expected.json'));

    const info = json(await mlo(repo, 'model', 'inspect', 'mlp.onnx', '--json'));
    expect(info.producerName).toBe('pytorch');
    expect(info.inputs).toEqual([{ name: 'features', type: 'float32', shape: ['batch', 8] }]);
    expect(info.outputs[0]).toMatchObject({ name: 'probabilities', type: 'float32' });
    expect(info.outputs[0].shape[1]).toBe(3);

    writeTree(repo, {
      'ex.json': JSON.stringify({ features: [rows[0]] }),
      'x-header.csv': `${['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].join(',')}\n${read(repo, 'x.csv')}`,
    });
    const pkg = await mlo(repo, 'model', 'package', 'mlp.onnx', '--name', 'torch-mlp', '--example', 'ex.json', '--json');
    expect(pkg.exitCode, pkg.stderr).toBe(0);

    const pred = await mlo(repo, 'predict', 'models/torch-mlp', '-i', 'x-header.csv', '-o', 'p.csv');
    expect(pred.exitCode, pred.stderr).toBe(0);
    const got = read(repo, 'p.csv')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').map(Number));
    got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], 5)));

    const s = await serve(repo, ['models/torch-mlp']);
    try {
      const r = await post(`${s.url}/invocations`, { inputs: rows });
      expect(r.status).toBe(200);
      const { predictions } = await r.json();
      predictions.forEach((row: number[], i: number) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], 5)));
    } finally {
      await s.stop();
    }
  });
});
