/**
 * The monitor reads what `mlo serve --log` really writes: a real ONNX model served by the built binary,
 * real requests, then `mlo monitor status` and `mlo monitor drift` on the log it wrote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, mlo, tempDir, writeTree } from '../helpers.js';
import { LINEAR, post, serve, type Served } from '../model/fixtures.js';

describe('monitoring a log written by mlo serve', () => {
  let dir: string;
  let s: Served | undefined;
  beforeAll(async () => {
    dir = tempDir();
    // Reference: the training features under the names the log gives them (input x of shape [N, 3]).
    const ref = ['x[0],x[1],x[2]'];
    for (let i = 0; i < 300; i++) ref.push(`${(i % 17) / 17},${(i % 13) / 13},${(i % 11) / 11}`);
    writeTree(dir, { 'lin.onnx': LINEAR, 'train.csv': ref.join('\n') + '\n' });
    s = await serve(dir, ['lin.onnx', '--log', 'serve.jsonl', '--log-sample', '1']);
    for (let i = 0; i < 20; i++) {
      // Production data has drifted: x[0] is around 5 instead of 0..1.
      const rows = [0, 1, 2].map((j) => [5 + ((i + j) % 7) / 7, ((i * 3 + j) % 13) / 13, ((i + 2 * j) % 11) / 11]);
      const r = await post(`${s.url}/invocations?model=lin`, { inputs: rows });
      expect(r.status).toBe(200);
    }
    expect((await post(`${s.url}/invocations?model=lin`, { inputs: [[1]] })).status).toBe(400);
    await s.stop();
    s = undefined;
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('mlo monitor status counts the requests and errors', async () => {
    const r = await mlo(dir, 'monitor', 'status', '--log', 'serve.jsonl', '--json');
    const m = json(r).models[0];
    // One line per request: 20 answered, 1 rejected (4.8% errors, under the 5% limit).
    expect(m).toMatchObject({ model: 'lin', version: null, requests: 21, errors: 1, stale: false, ok: true });
    expect(m.latencyMs.p50).toBeGreaterThanOrEqual(0);
    expect(r.exitCode).toBe(0);
  });

  it('mlo monitor drift reads each logged row as features and predictions', async () => {
    const r = await mlo(dir, 'monitor', 'drift', '--reference', 'train.csv', '--current', 'serve.jsonl', '--json');
    expect(r.exitCode).toBe(1);
    const report = json(r);
    expect(report.current).toEqual({ file: 'serve.jsonl', format: 'servelog', rows: 60 });
    const byName = Object.fromEntries(report.features.map((f: { column: string; drifted: boolean }) => [f.column, f.drifted]));
    expect(byName['x[0]']).toBe(true);
    expect(report.skipped.map((k: { column: string }) => k.column).sort()).toEqual(['prediction.y[0]', 'prediction.y[1]']);
  });
});
