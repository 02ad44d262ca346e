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

  it('takes its feature names from metadata_props and predicts from a CSV in another order with id and label', { timeout: 180_000 }, async () => {
    const features = ['age', 'income', 'tenure', 'calls', 'plan', 'region', 'score', 'visits'];
    const rows = Array.from({ length: 6 }, (_, i) => features.map((_, j) => ((i * 8 + j) % 13) / 6 - 1));
    const repo = await makeRepo({ 'x.csv': `${rows.map((r) => r.join(',')).join('\n')}\n` }, { commit: true });
    const exported = await execa(
      python!,
      [join(ROOT, 'bench/peers/export_torch_mlp.py'), 'mlp.onnx', '--features', '8', '--hidden', '16', '--classes', '3', '--predict', 'x.csv'],
      { cwd: repo, reject: false },
    );
    expect(exported.exitCode, exported.stderr).toBe(0);
    // What an exporting script adds so the model carries its own contract: onnx's metadata_props.
    const tagged = await execa(
      python!,
      [
        '-c',
        'import onnx, sys; m = onnx.load(sys.argv[1]); p = m.metadata_props.add(); p.key = "feature_names"; p.value = sys.argv[2]; onnx.save(m, sys.argv[1])',
        'mlp.onnx',
        features.join(','),
      ],
      { cwd: repo, reject: false },
    );
    expect(tagged.exitCode, tagged.stderr).toBe(0);
    const expected: number[][] = JSON.parse(read(repo, 'mlp.onnx.expected.json'));

    expect(json(await mlo(repo, 'model', 'inspect', 'mlp.onnx', '--json')).metadata).toMatchObject({ feature_names: features.join(',') });
    const contradicted = await mlo(repo, 'model', 'package', 'mlp.onnx', '--name', 'churn', '--columns', features.slice().reverse().join(','));
    expect(contradicted.exitCode).toBe(2);
    const pkg = await mlo(repo, 'model', 'package', 'mlp.onnx', '--name', 'churn', '--json');
    expect(pkg.exitCode, pkg.stderr).toBe(0);
    expect(json(pkg).features).toEqual({ columns: features, source: 'metadata' });

    // Columns reversed, with a numeric id first and a numeric label last.
    const order = features.slice().reverse();
    const csv = `customer_id,${order.join(',')},churned\n${rows
      .map((r, i) => `${9000 + i},${order.map((f) => r[features.indexOf(f)]).join(',')},${i % 2}`)
      .join('\n')}\n`;
    writeTree(repo, { 'prod.csv': csv });
    const pred = await mlo(repo, 'predict', 'models/churn', '-i', 'prod.csv', '-o', 'p.csv', '--json');
    expect(pred.exitCode, pred.stderr).toBe(0);
    expect(json(pred)).toMatchObject({ inputs: { features }, ignored: ['customer_id', 'churned'] });
    const got = read(repo, 'p.csv')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').map(Number));
    expect(got.length).toBe(rows.length);
    got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], 5)));
  });
});
