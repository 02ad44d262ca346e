import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { isMloError } from '../../base/errors.js';
import { buildLinear, buildMlp, buildOnnx } from '../../../test/support/onnx-builder.js';
import { Writer } from '../../../test/support/protobuf-writer.js';
import { formatSpec, parseOnnx } from './onnx.js';
import { fields, int64 } from './protobuf.js';

describe('protobuf wire format', () => {
  it('round-trips varints, strings, floats and nested messages', () => {
    const inner = new Writer().string(1, 'héllo').int(2, 300);
    const buf = new Writer()
      .int(1, 0)
      .int(2, 2 ** 40)
      .int(3, -1)
      .float(4, 1.5)
      .message(5, inner)
      .finish();
    const f = [...fields(buf)];
    expect(f.map((x) => x.field)).toEqual([1, 2, 3, 4, 5]);
    expect(f[0].value).toBe(0);
    expect(f[1].value).toBe(2 ** 40);
    expect(int64(f[2])).toBe(-1);
    expect(f[3].value).toBe(1.5);
    const nested = [...fields(f[4].bytes!)];
    expect(new TextDecoder().decode(nested[0].bytes)).toBe('héllo');
    expect(nested[1].value).toBe(300);
  });

  it('rejects truncated input with MLO_BAD_ONNX', () => {
    const buf = new Writer().string(1, 'abcdef').finish().subarray(0, 4);
    expect(() => [...fields(buf)]).toThrow(/runs past the end/);
    try {
      [...fields(Uint8Array.of(0x08, 0xff))];
    } catch (err) {
      expect(isMloError(err, 'MLO_BAD_ONNX')).toBe(true);
    }
  });
});

describe('parseOnnx', () => {
  it('reads inputs, outputs, symbolic dims, opsets and producer', () => {
    const info = parseOnnx(buildMlp({ inFeatures: 4, hidden: 8, outFeatures: 3 }));
    expect(info.irVersion).toBe(8);
    expect(info.producerName).toBe('mlo');
    expect(info.opsets).toEqual([{ domain: '', version: 13 }]);
    expect(info.inputs).toEqual([{ name: 'x', type: 'float32', shape: ['batch', 4] }]);
    expect(info.outputs).toEqual([{ name: 'y', type: 'float32', shape: ['batch', 3] }]);
    expect(info.nodes).toBe(5);
    expect(info.initializers).toBe(4);
    expect(formatSpec(info.inputs[0])).toBe('float32[batch,4]');
  });

  it('keeps fixed dims, unknown dims, metadata and several inputs', () => {
    const buf = buildOnnx({
      inputs: [
        { name: 'a', type: 'int64', shape: [1, 3] },
        { name: 'b', type: 'float64', shape: [null, 'n'] },
      ],
      outputs: [{ name: 'c', type: 'bool', shape: [] }],
      nodes: [],
      metadata: { author: 'me' },
      producerName: 'test',
      producerVersion: '9',
      irVersion: 7,
      opset: 11,
    });
    const info = parseOnnx(buf);
    expect(info.inputs).toEqual([
      { name: 'a', type: 'int64', shape: [1, 3] },
      { name: 'b', type: 'float64', shape: [null, 'n'] },
    ]);
    expect(info.outputs[0]).toEqual({ name: 'c', type: 'bool', shape: [] });
    expect(info.metadata).toEqual({ author: 'me' });
    expect(info.producerVersion).toBe('9');
  });

  it('drops initializers listed among the graph inputs (IR < 4 models)', () => {
    const graph = new Writer()
      .message(5, new Writer().packedInts(1, [1]).int(2, 1).string(8, 'W'))
      .message(11, valueInfo('x'))
      .message(11, valueInfo('W'));
    const buf = new Writer().int(1, 3).message(7, graph).finish();
    expect(parseOnnx(buf).inputs.map((i) => i.name)).toEqual(['x']);
  });

  it('refuses bytes that are not a model', () => {
    expect(() => parseOnnx(new TextEncoder().encode('hello, world'))).toThrow(/not a valid ONNX file/);
  });
});

function valueInfo(name: string): Writer {
  const tensor = new Writer().int(1, 1).message(2, new Writer().message(1, new Writer().int(1, 1)));
  return new Writer().string(1, name).message(2, new Writer().message(1, tensor));
}

describe('built models run in onnxruntime-node', () => {
  it('linear layer computes x @ W + b', async () => {
    const W = Float32Array.from([1, 2, 3, 4, 5, 6]); // 3x2
    const b = Float32Array.from([0.5, -1]);
    const session = await ort.InferenceSession.create(buildLinear({ inFeatures: 3, outFeatures: 2, weights: W, bias: b }));
    const x = new ort.Tensor('float32', Float32Array.from([1, 1, 1, 2, 0, 1]), [2, 3]);
    const { y } = await session.run({ x });
    expect(y.dims).toEqual([2, 2]);
    expect([...(y.data as Float32Array)]).toEqual([1 + 3 + 5 + 0.5, 2 + 4 + 6 - 1, 2 + 5 + 0.5, 4 + 6 - 1]);
    expect(session.inputMetadata[0]).toMatchObject({ name: 'x', shape: ['batch', 3] });
    await session.release();
  });

  it('MLP applies Relu between the layers, and a fixed batch dim is enforced', async () => {
    const session = await ort.InferenceSession.create(buildMlp({ inFeatures: 2, hidden: 4, outFeatures: 1, batch: 1 }));
    const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from([0.3, -0.2]), [1, 2]) });
    expect(y.dims).toEqual([1, 1]);
    await expect(session.run({ x: new ort.Tensor('float32', new Float32Array(4), [2, 2]) })).rejects.toThrow();
    await session.release();
  });
});
