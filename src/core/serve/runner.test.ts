import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { Signature } from '../model/codec.js';
import { buildLinear, buildMlp } from '../../../test/support/onnx-builder.js';
import { parseOnnx } from '../model/onnx.js';
import { toTensorValue } from '../model/runtime.js';
import { ServerMetrics } from './metrics.js';
import { Runner } from './runner.js';

async function runnerFor(bytes: Uint8Array, batches: number[]) {
  const info = parseOnnx(bytes);
  const sig: Signature = { inputs: info.inputs, outputs: info.outputs };
  const session = await ort.InferenceSession.create(bytes);
  return { sig, runner: new Runner(session, sig, { maxBatch: 16, onBatch: (n) => batches.push(n) }) };
}

describe('Runner micro-batching', () => {
  it('concatenates concurrent requests along the batch dim and splits the outputs back', async () => {
    const batches: number[] = [];
    const { sig, runner } = await runnerFor(buildMlp({ inFeatures: 3, hidden: 5, outFeatures: 2 }), batches);
    expect(runner.batchable).toBe(true);
    const rows = Array.from({ length: 10 }, (_, i) => [i, i / 2, -i]);
    // One row per request, plus one request with two rows.
    const requests = [...rows.map((r) => [r]), [rows[0], rows[1]]];
    const together = await Promise.all(requests.map((r) => runner.infer({ x: toTensorValue(sig.inputs[0], r) })));
    expect(Math.max(...batches)).toBeGreaterThan(1);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(12);
    // Each answer equals running that request alone.
    batches.length = 0;
    for (let i = 0; i < requests.length; i++) {
      const alone = await runner.infer({ x: toTensorValue(sig.inputs[0], requests[i]) });
      expect(together[i].y.dims).toEqual(alone.y.dims);
      expect([...(together[i].y.data as Float32Array)]).toEqual([...(alone.y.data as Float32Array)]);
    }
    expect(batches.every((b) => b === 1 || b === 2)).toBe(true);
    await runner.release();
  });

  it('respects maxBatch and runs a fixed-batch model one request at a time', async () => {
    const batches: number[] = [];
    const { sig, runner } = await runnerFor(buildMlp({ inFeatures: 2, hidden: 3, outFeatures: 1 }), batches);
    await Promise.all(Array.from({ length: 40 }, () => runner.infer({ x: toTensorValue(sig.inputs[0], [[1, 2]]) })));
    expect(Math.max(...batches)).toBeLessThanOrEqual(16);
    await runner.release();

    const fixed: number[] = [];
    const f = await runnerFor(buildLinear({ inFeatures: 2, outFeatures: 1, batch: 1 }), fixed);
    expect(f.runner.batchable).toBe(false);
    const out = await Promise.all(Array.from({ length: 5 }, (_, i) => f.runner.infer({ x: toTensorValue(f.sig.inputs[0], [[i, i]]) })));
    expect(fixed).toEqual([1, 1, 1, 1, 1]);
    expect(out.map((o) => o.y.dims)).toEqual(Array(5).fill([1, 1]));
    await f.runner.release();
  });
});

describe('ServerMetrics', () => {
  it('renders counters and cumulative histograms in Prometheus text format', () => {
    const m = new ServerMetrics();
    m.request('churn', 2, 200, 0.0007);
    m.request('churn', 2, 400, 0.02);
    m.batch('churn', 2, 3);
    const text = m.render();
    expect(text).toContain('mlo_requests_total{model="churn",version="2",code="200"} 1');
    expect(text).toContain('mlo_request_errors_total{model="churn",version="2",code="400"} 1');
    expect(text).toContain('mlo_request_duration_seconds_bucket{model="churn",version="2",le="0.001"} 1');
    expect(text).toContain('mlo_request_duration_seconds_bucket{model="churn",version="2",le="0.025"} 2');
    expect(text).toContain('mlo_request_duration_seconds_count{model="churn",version="2"} 2');
    expect(text).toContain('mlo_batch_size_bucket{model="churn",version="2",le="2"} 0');
    expect(text).toContain('mlo_batch_size_bucket{model="churn",version="2",le="4"} 1');
    expect(text).toMatch(/# TYPE mlo_batch_size histogram/);
  });
});
