/**
 * Builds small, real ONNX models from TypeScript (tests, and bench/serve.mjs through an esbuild bundle):
 * a graph of nodes with float32 initializers, written with the protobuf Writer. The results load and run in
 * onnxruntime. Field numbers follow onnx/onnx.proto.
 */
import { ELEM_TYPES, type Dim } from '../../src/core/model/onnx.js';
import { Writer } from './protobuf-writer.js';

const TYPE_CODES: Record<string, number> = Object.fromEntries(Object.entries(ELEM_TYPES).map(([k, v]) => [v, Number(k)]));

export interface BuildValue {
  name: string;
  type: string;
  shape: Dim[];
}

export interface BuildNode {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes (e.g. Gemm's transB) and float attributes (e.g. alpha). */
  attrs?: Record<string, number>;
}

export interface BuildInitializer {
  name: string;
  dims: number[];
  data: Float32Array;
}

export interface BuildModel {
  inputs: BuildValue[];
  outputs: BuildValue[];
  nodes: BuildNode[];
  initializers?: BuildInitializer[];
  opset?: number;
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  graphName?: string;
  doc?: string;
  metadata?: Record<string, string>;
}

export function buildOnnx(model: BuildModel): Uint8Array {
  const graph = new Writer();
  model.nodes.forEach((n, i) => graph.message(1, nodeProto(n, i)));
  graph.string(2, model.graphName ?? 'graph');
  for (const init of model.initializers ?? []) graph.message(5, tensorProto(init));
  for (const v of model.inputs) graph.message(11, valueInfo(v));
  for (const v of model.outputs) graph.message(12, valueInfo(v));
  const m = new Writer()
    .int(1, model.irVersion ?? 8)
    .string(2, model.producerName ?? 'mlo')
    .string(3, model.producerVersion ?? '0.1.0');
  if (model.doc) m.string(6, model.doc);
  m.message(7, graph).message(8, new Writer().string(1, '').int(2, model.opset ?? 13));
  for (const [k, v] of Object.entries(model.metadata ?? {})) m.message(14, new Writer().string(1, k).string(2, v));
  return m.finish();
}

function nodeProto(n: BuildNode, i: number): Writer {
  const w = new Writer();
  for (const x of n.inputs) w.string(1, x);
  for (const x of n.outputs) w.string(2, x);
  w.string(3, `${n.op.toLowerCase()}_${i}`).string(4, n.op);
  for (const [name, value] of Object.entries(n.attrs ?? {})) {
    const a = new Writer().string(1, name);
    // AttributeProto: f=2 with type FLOAT(1), i=3 with type INT(2); type is field 20.
    if (Number.isInteger(value)) a.int(3, value).int(20, 2);
    else a.float(2, value).int(20, 1);
    w.message(5, a);
  }
  return w;
}

function tensorProto(t: BuildInitializer): Writer {
  const w = new Writer();
  w.packedInts(1, t.dims).int(2, 1).string(8, t.name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return w;
}

function valueInfo(v: BuildValue): Writer {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else if (typeof d === 'string') dim.string(2, d);
    shape.message(1, dim);
  }
  const code = TYPE_CODES[v.type];
  if (code === undefined) throw new Error(`unknown element type ${v.type}`);
  const tensor = new Writer().int(1, code).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensor));
}

/** Deterministic pseudo-random floats in [-1, 1) (mulberry32), so built models are reproducible. */
export function seededFloats(n: number, seed = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  /** The first dimension: a number, or a name for a symbolic batch dimension (default 'batch'). */
  batch?: number | string;
  weights?: Float32Array;
  bias?: Float32Array;
  inputName?: string;
  outputName?: string;
  /** metadata_props, e.g. { feature_names: 'f1,f2,f3' } as exporters write them. */
  metadata?: Record<string, string>;
}

/** y = x @ W + b (MatMul + Add with initializers). */
export function buildLinear(o: LinearOptions): Uint8Array {
  const batch = o.batch ?? 'batch';
  const input = o.inputName ?? 'x';
  const output = o.outputName ?? 'y';
  return buildOnnx({
    inputs: [{ name: input, type: 'float32', shape: [batch, o.inFeatures] }],
    outputs: [{ name: output, type: 'float32', shape: [batch, o.outFeatures] }],
    nodes: [
      { op: 'MatMul', inputs: [input, 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'b'], outputs: [output] },
    ],
    initializers: [
      { name: 'W', dims: [o.inFeatures, o.outFeatures], data: o.weights ?? seededFloats(o.inFeatures * o.outFeatures, 1) },
      { name: 'b', dims: [o.outFeatures], data: o.bias ?? seededFloats(o.outFeatures, 2) },
    ],
    graphName: 'linear',
    metadata: o.metadata,
  });
}

export interface MlpOptions {
  inFeatures: number;
  hidden: number;
  outFeatures: number;
  batch?: number | string;
  seed?: number;
  inputName?: string;
  outputName?: string;
}

/** A 2-layer MLP: Relu(x @ W1 + b1) @ W2 + b2. */
export function buildMlp(o: MlpOptions): Uint8Array {
  const batch = o.batch ?? 'batch';
  const seed = o.seed ?? 7;
  const input = o.inputName ?? 'x';
  const output = o.outputName ?? 'y';
  return buildOnnx({
    inputs: [{ name: input, type: 'float32', shape: [batch, o.inFeatures] }],
    outputs: [{ name: output, type: 'float32', shape: [batch, o.outFeatures] }],
    nodes: [
      { op: 'MatMul', inputs: [input, 'W1'], outputs: ['h0'] },
      { op: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'] },
      { op: 'Relu', inputs: ['h1'], outputs: ['h2'] },
      { op: 'MatMul', inputs: ['h2', 'W2'], outputs: ['h3'] },
      { op: 'Add', inputs: ['h3', 'b2'], outputs: [output] },
    ],
    initializers: [
      { name: 'W1', dims: [o.inFeatures, o.hidden], data: seededFloats(o.inFeatures * o.hidden, seed) },
      { name: 'b1', dims: [o.hidden], data: seededFloats(o.hidden, seed + 1) },
      { name: 'W2', dims: [o.hidden, o.outFeatures], data: seededFloats(o.hidden * o.outFeatures, seed + 2) },
      { name: 'b2', dims: [o.outFeatures], data: seededFloats(o.outFeatures, seed + 3) },
    ],
    graphName: 'mlp',
  });
}
