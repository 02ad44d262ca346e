/**
 * onnxruntime-node behind a small surface: load a session (turning onnxruntime's failures into one-line
 * MloErrors), and convert between JSON values and tensors with the checks a server needs: element type,
 * rank, fixed dimensions, finiteness. Every check names the input and what was expected.
 */
import * as ort from 'onnxruntime-node';
import { MloError } from '../../base/errors.js';
import type { Dim, TensorSpec } from './onnx.js';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A tensor as JSON requests carry it, before it becomes an ort.Tensor: flat data plus dims. */
export interface TensorValue {
  type: string;
  data: TypedArray | string[];
  dims: number[];
}

export interface LoadedModel {
  session: ort.InferenceSession;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** Makes onnxruntime's multi-line, prefixed messages fit on one line. */
export function ortReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg
    .replace(/\s+/g, ' ')
    .replace(/^(Error: )?/, '')
    .trim();
}

export interface LoadOptions {
  /** For error messages. */
  label: string;
  intraOpThreads?: number;
}

export async function loadSession(
  model: string | Uint8Array,
  specs: { inputs: TensorSpec[]; outputs: TensorSpec[] },
  options: LoadOptions,
): Promise<LoadedModel> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(model as Uint8Array, {
      graphOptimizationLevel: 'all',
      // Small models gain nothing from a thread pool, and a server runs requests back to back.
      intraOpNumThreads: options.intraOpThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      logSeverityLevel: 3,
    });
  } catch (err) {
    throw new MloError('MLO_MODEL_LOAD', `${options.label} does not load in onnxruntime: ${ortReason(err)}`, {
      cause: err,
      hint: 'check the model with `mlo model inspect` and that its opset is supported by onnxruntime-node',
    });
  }
  return { session, inputs: specs.inputs, outputs: specs.outputs };
}

const ARRAYS: Record<string, new (n: number) => TypedArray> = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  uint64: [0, Number.MAX_SAFE_INTEGER],
};

export function isSupportedType(type: string): boolean {
  return type in ARRAYS || type === 'string';
}

export function allocate(type: string, n: number): TypedArray {
  const C = ARRAYS[type];
  if (!C) throw new InputError(`element type ${type} is not supported by mlo's JSON codec`);
  return new C(n);
}

function expectedWhat(type: string): string {
  if (type === 'float32' || type === 'float64' || type === 'float16') return `finite ${type} numbers`;
  if (type === 'bool') return 'booleans';
  if (type === 'string') return 'strings';
  return `${type} integers`;
}

export function describeShape(shape: Dim[] | undefined): string {
  if (!shape) return '(any shape)';
  return `[${shape.map((d) => (typeof d === 'number' && d >= 0 ? String(d) : typeof d === 'string' && d ? d : '?')).join(', ')}]`;
}

/** True if the dimension may take any size (symbolic, unknown or negative). */
export function isFreeDim(d: Dim): boolean {
  return typeof d !== 'number' || d < 0;
}

/**
 * Converts a JSON value (a nested array, a flat array with `dims`, or a scalar) into a tensor for `spec`,
 * checking element types, rank and fixed dimensions. When `dims` is given the data may be flat or nested
 * (row-major) as in the Open Inference Protocol.
 */
export function toTensorValue(spec: TensorSpec, value: unknown, dims?: number[]): TensorValue {
  const type = spec.type;
  if (!isSupportedType(type)) throw new InputError(`input '${spec.name}' has type ${type}, which mlo cannot feed from JSON`);
  let shape: number[];
  if (dims) {
    shape = dims;
  } else {
    shape = [];
    let v = value;
    while (Array.isArray(v)) {
      shape.push(v.length);
      if (v.length === 0) break;
      v = v[0];
    }
  }
  // A missing leading batch dimension is a common client mistake with rank-2 models: accept one row.
  if (!dims && spec.shape && shape.length === spec.shape.length - 1 && isFreeDim(spec.shape[0])) {
    value = [value];
    shape = [1, ...shape];
  }
  checkShape(spec, shape);
  let total = 1;
  for (const d of shape) total *= d;
  if (total > MAX_ELEMENTS) {
    throw new InputError(`input '${spec.name}' has shape ${shapeText(shape)}, ${total} elements; the limit is ${MAX_ELEMENTS} elements per input`);
  }
  // Count before allocating, so a small body cannot make the server allocate a large tensor.
  if (dims && type !== 'string') {
    const n = countLeaves(value);
    if (n !== total) throw shapeError(spec, `${n} values`, total);
  }
  if (type === 'string') {
    const out: string[] = [];
    fillStrings(spec, value, out, total);
    return { type, data: out, dims: shape };
  }
  const data = allocate(type, total);
  const n = dims ? fillFlat(spec, value, data, total) : fill(spec, value, shape, 0, data, 0);
  if (n !== total) throw shapeError(spec, `${n} values`, total);
  return { type, data, dims: shape };
}

/** The most elements one input may hold (2^24: 64 MB of float32), whatever shape a request declares. */
export const MAX_ELEMENTS = 16_777_216;

/** The largest finite float32; a larger number would silently become Infinity. */
const FLOAT32_MAX = 3.4028234663852886e38;

function countLeaves(v: unknown): number {
  if (!Array.isArray(v)) return 1;
  let n = 0;
  for (const x of v) n += countLeaves(x);
  return n;
}

/** A shape for an error message, cut short: a request may declare 100,000 dimensions. */
function shapeText(shape: number[]): string {
  const shown = shape.slice(0, 16).join(', ');
  return shape.length > 16 ? `[${shown}, ... ${shape.length - 16} more]` : `[${shown}]`;
}

function shapeError(spec: TensorSpec, got: string, total: number): InputError {
  return new InputError(`input '${spec.name}' has ${got} but its shape needs ${total}; expected shape ${describeShape(spec.shape)}`);
}

export function checkShape(spec: TensorSpec, shape: number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new InputError(`input '${spec.name}' has an invalid shape ${shapeText(shape)}`);
  }
  if (!spec.shape) return;
  if (shape.length !== spec.shape.length) {
    throw new InputError(
      `input '${spec.name}' has shape ${shapeText(shape)} (rank ${shape.length}); expected ${describeShape(spec.shape)} (rank ${spec.shape.length})`,
    );
  }
  for (let i = 0; i < shape.length; i++) {
    const want = spec.shape[i];
    if (!isFreeDim(want) && want !== shape[i]) {
      throw new InputError(`input '${spec.name}' has shape ${shapeText(shape)}; expected ${describeShape(spec.shape)} (dimension ${i} must be ${want})`);
    }
  }
}

function elementError(spec: TensorSpec, v: unknown, index: number): InputError {
  const shown = typeof v === 'string' ? JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v) : Array.isArray(v) ? 'an array' : String(v);
  const nonFinite = typeof v === 'number' || v === 'NaN' || v === 'Infinity' || v === '-Infinity';
  const what = nonFinite && (typeof v !== 'number' || !Number.isFinite(v)) ? 'NaN or Infinity' : shown;
  if (spec.type === 'float32' && typeof v === 'number' && Number.isFinite(v) && Math.abs(v) > FLOAT32_MAX) {
    return new InputError(`input '${spec.name}' holds ${shown} at flat index ${index}, outside the float32 range (±${FLOAT32_MAX})`);
  }
  return new InputError(`input '${spec.name}' holds ${what} at flat index ${index}; expected ${expectedWhat(spec.type)}`);
}

/** Writes one element; returns false if it does not fit the type. */
function put(type: string, data: TypedArray, i: number, v: unknown): boolean {
  if (type === 'float32' || type === 'float64') {
    if (typeof v !== 'number' || v - v !== 0) return false; // v - v is NaN for NaN and ±Infinity
    if (type === 'float32' && (v > FLOAT32_MAX || v < -FLOAT32_MAX)) return false;
    (data as Float32Array)[i] = v;
    return true;
  }
  if (type === 'bool') {
    if (typeof v === 'boolean') (data as Uint8Array)[i] = v ? 1 : 0;
    else if (v === 0 || v === 1) (data as Uint8Array)[i] = v;
    else return false;
    return true;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) return false;
  const range = INT_RANGES[type];
  if (v < range[0] || v > range[1]) return false;
  if (type === 'int64' || type === 'uint64') (data as BigInt64Array)[i] = BigInt(v);
  else (data as Int32Array)[i] = v;
  return true;
}

function fill(spec: TensorSpec, v: unknown, shape: number[], depth: number, data: TypedArray, at: number): number {
  if (depth === shape.length) {
    if (!put(spec.type, data, at, v)) throw elementError(spec, v, at);
    return at + 1;
  }
  if (!Array.isArray(v) || v.length !== shape[depth]) {
    throw new InputError(
      `input '${spec.name}' is ragged or mis-nested at depth ${depth}: expected ${shape[depth]} items, got ${Array.isArray(v) ? v.length : typeof v}; expected shape ${describeShape(spec.shape)}`,
    );
  }
  if (depth === shape.length - 1) {
    const type = spec.type;
    for (let i = 0; i < v.length; i++) {
      if (!put(type, data, at, v[i])) throw elementError(spec, v[i], at);
      at++;
    }
    return at;
  }
  for (let i = 0; i < v.length; i++) at = fill(spec, v[i], shape, depth + 1, data, at);
  return at;
}

/** Data given with explicit dims (OIP): flat or nested, read in row-major order. */
function fillFlat(spec: TensorSpec, v: unknown, data: TypedArray, total: number): number {
  let at = 0;
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) {
      for (const y of x) walk(y);
      return;
    }
    if (at >= total) {
      at++;
      return;
    }
    if (!put(spec.type, data, at, x)) throw elementError(spec, x, at);
    at++;
  };
  walk(v);
  return at;
}

function fillStrings(spec: TensorSpec, v: unknown, out: string[], total: number): void {
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) for (const y of x) walk(y);
    else if (typeof x === 'string') out.push(x);
    else throw elementError(spec, x, out.length);
  };
  walk(v);
  if (out.length !== total) throw shapeError(spec, `${out.length} values`, total);
}

export function toOrt(t: TensorValue): ort.Tensor {
  if (t.type === 'string') return new ort.Tensor('string', t.data as string[], t.dims);
  return new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
}

/** A plain JS array (nested by dims) of a tensor's values; int64 becomes number, bool becomes boolean. */
export function toNested(type: string, data: ArrayLike<unknown>, dims: readonly number[]): unknown {
  const flat = toFlat(type, data);
  if (dims.length === 0) return flat[0];
  if (dims.length === 1) return flat;
  const nest = (depth: number, offset: number, stride: number): unknown[] => {
    const n = dims[depth];
    const inner = stride / n;
    const out = new Array(n);
    if (depth === dims.length - 1) {
      for (let i = 0; i < n; i++) out[i] = flat[offset + i];
    } else {
      for (let i = 0; i < n; i++) out[i] = nest(depth + 1, offset + i * inner, inner);
    }
    return out;
  };
  let total = 1;
  for (const d of dims) total *= d;
  return nest(0, 0, total);
}

export function toFlat(type: string, data: ArrayLike<unknown>): unknown[] {
  const n = data.length;
  const out = new Array(n);
  if (type === 'int64' || type === 'uint64') for (let i = 0; i < n; i++) out[i] = Number(data[i] as bigint);
  else if (type === 'bool') for (let i = 0; i < n; i++) out[i] = Boolean(data[i]);
  else for (let i = 0; i < n; i++) out[i] = data[i];
  return out;
}

/**
 * A value for `spec` with free dimensions set to 1, for smoke-running a model without an example. Float
 * inputs get a fixed pattern in (0, 1.4] rather than zeros: its recorded output is what `model verify`
 * compares, and zeros pass through many different models (any bias-free linear layer) unchanged.
 * Integers stay 0, a safe index into any embedding table.
 */
export function synthesize(spec: TensorSpec): TensorValue {
  const dims = (spec.shape ?? [1]).map((d) => (isFreeDim(d) ? 1 : (d as number)));
  let total = 1;
  for (const d of dims) total *= d;
  if (spec.type === 'string') return { type: 'string', data: new Array(total).fill(''), dims };
  const data = allocate(spec.type, total);
  if (spec.type === 'float32' || spec.type === 'float64') for (let i = 0; i < total; i++) data[i] = (((i * 7) % 11) + 1) / 8;
  return { type: spec.type, data, dims };
}

export async function runOnce(model: LoadedModel, feeds: Record<string, TensorValue>, label: string): Promise<Record<string, TensorValue>> {
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = toOrt(v);
  let out: ort.InferenceSession.OnnxValueMapType;
  try {
    out = await model.session.run(ortFeeds);
  } catch (err) {
    throw new MloError('MLO_MODEL_RUN', `${label} fails to run in onnxruntime: ${ortReason(err)}`, {
      cause: err,
      hint: 'check the input example against `mlo model inspect` (names, types, shapes)',
    });
  }
  const result: Record<string, TensorValue> = {};
  for (const [k, t] of Object.entries(out)) {
    const tensor = t as ort.Tensor;
    result[k] = { type: tensor.type, data: tensor.data as TypedArray, dims: [...tensor.dims] };
  }
  return result;
}
