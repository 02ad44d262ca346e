/** templates/example end to end: prepare -> train (exports ONNX) -> evaluate, then the no-op and param paths. */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, makeRepo, mlo, pythonWith, read, ROOT } from '../helpers.js';

const python = await pythonWith();

describe.skipIf(!python)('templates/example', () => {
  it('trains, exports a working ONNX model, evaluates, and re-runs only what a param affects', async () => {
    const dir = await makeRepo({});
    cpSync(join(ROOT, 'templates/example'), dir, { recursive: true });
    const first = await mlo(dir, 'run', '--json');
    expect(first.exitCode, first.stderr).toBe(0);
    expect(json(first).stages.map((s: any) => s.status)).toEqual(['ran', 'ran', 'ran']);
    const metrics = JSON.parse(read(dir, 'metrics.json'));
    expect(metrics.accuracy).toBeGreaterThan(0.8);
    expect(metrics.auc).toBeGreaterThan(0.9);

    // The exported model is real ONNX: onnxruntime runs it and agrees with the weights.
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(join(dir, 'model/model.onnx'));
    const { weights, bias } = JSON.parse(read(dir, 'model/weights.json'));
    const x = [0.5, -1, 2, 0.25];
    const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x), [1, 4]) });
    const expected = 1 / (1 + Math.exp(-(x.reduce((s, v, i) => s + v * weights[i], 0) + bias)));
    expect((out.probability.data as Float32Array)[0]).toBeCloseTo(expected, 5);

    // train.py writes step metrics in the documented format ({"step": N, "<name>": value} lines), so
    // the run has the metrics it names, never columns called `key` and `value`.
    const show = json(await mlo(dir, 'exp', 'show', '--json'));
    expect(show.runs).toHaveLength(1);
    const recorded = Object.keys(show.runs[0].metrics);
    expect(recorded).toEqual(expect.arrayContaining(['train_accuracy', 'accuracy', 'auc']));
    expect(recorded).not.toContain('key');
    expect(recorded).not.toContain('value');
    expect(recorded.filter((m) => m.endsWith(' (steps)'))).toEqual([]);
    expect(show.runs[0].metrics.train_accuracy).toBeGreaterThan(0.8);

    const again = await mlo(dir, 'run', '--json');
    expect(json(again).stages.map((s: any) => s.status)).toEqual(['unchanged', 'unchanged', 'unchanged']);

    writeFileSync(join(dir, 'params.yaml'), readFileSync(join(dir, 'params.yaml'), 'utf8').replace('lr: 0.5', 'lr: 0.2'));
    const changed = await mlo(dir, 'run', '--json');
    const stages = json(changed).stages;
    expect(stages.map((s: any) => s.status)).toEqual(['unchanged', 'ran', 'ran']);
    expect(stages[1].reasons).toEqual([
      { kind: 'param', change: 'modified', path: 'params.yaml', key: 'train.lr', message: 'param changed: train.lr 0.5 -> 0.2' },
    ]);
  });
});
