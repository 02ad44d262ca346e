/**
 * Reads what mlo needs from an ONNX ModelProto without running it: graph inputs and outputs (element
 * types and shapes, with symbolic dimensions), opset imports, producer, IR version and metadata.
 * Field numbers follow onnx/onnx.proto. Initializers are skipped without decoding, so a large model
 * costs one read and a walk over its top-level fields.
 */
import { MloError } from '../../base/errors.js';
import { fields, int64, str, type Field } from './protobuf.js';

/** TensorProto.DataType -> the name onnxruntime uses for the tensor type. */
export const ELEM_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
  17: 'float8e4m3fn',
  18: 'float8e4m3fnuz',
  19: 'float8e5m2',
  20: 'float8e5m2fnuz',
  21: 'uint4',
  22: 'int4',
  23: 'float4e2m1',
};

/** A dimension: a fixed size, a symbolic name (`batch`), or null when neither is set. */
export type Dim = number | string | null;

export interface TensorSpec {
  name: string;
  /** Element type (`float32`, `int64`...), or `sequence`/`map`/`optional`/`unknown` for non-tensors. */
  type: string;
  /** Undefined when the model leaves the rank unknown. */
  shape?: Dim[];
  doc?: string;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface OnnxModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  doc: string;
  graphName: string;
  opsets: OpsetImport[];
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  metadata: Record<string, string>;
  nodes: number;
  initializers: number;
}

export function parseOnnx(buf: Uint8Array): OnnxModelInfo {
  const info: OnnxModelInfo = {
    irVersion: 0,
    producerName: '',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    doc: '',
    graphName: '',
    opsets: [],
    inputs: [],
    outputs: [],
    metadata: {},
    nodes: 0,
    initializers: 0,
  };
  let graph: Uint8Array | undefined;
  for (const f of fields(buf)) {
    switch (f.field) {
      case 1:
        info.irVersion = f.value;
        break;
      case 2:
        info.producerName = str(f);
        break;
      case 3:
        info.producerVersion = str(f);
        break;
      case 4:
        info.domain = str(f);
        break;
      case 5:
        info.modelVersion = int64(f);
        break;
      case 6:
        info.doc = str(f);
        break;
      case 7:
        graph = f.bytes;
        break;
      case 8:
        info.opsets.push(parseOpset(need(f)));
        break;
      case 14: {
        const [k, v] = parseStringEntry(need(f));
        info.metadata[k] = v;
        break;
      }
    }
  }
  if (!graph || info.irVersion === 0) {
    throw new MloError('MLO_BAD_ONNX', 'not a valid ONNX file: no graph or IR version', {
      hint: 'check that the file is an ONNX model (a protobuf ModelProto) and not truncated',
    });
  }
  const initializerNames = new Set<string>();
  const inputs: TensorSpec[] = [];
  for (const f of fields(graph)) {
    switch (f.field) {
      case 1:
        info.nodes++;
        break;
      case 2:
        info.graphName = str(f);
        break;
      case 5:
        info.initializers++;
        initializerNames.add(tensorName(need(f)));
        break;
      case 11:
        inputs.push(parseValueInfo(need(f)));
        break;
      case 12:
        info.outputs.push(parseValueInfo(need(f)));
        break;
    }
  }
  // IR < 4 lists initializers among the graph inputs too; they are weights, not inputs a caller feeds.
  info.inputs = inputs.filter((i) => !initializerNames.has(i.name));
  return info;
}

function need(f: Field): Uint8Array {
  if (!f.bytes) {
    throw new MloError('MLO_BAD_ONNX', `not a valid ONNX file: field ${f.field} should be a message`);
  }
  return f.bytes;
}

function parseOpset(buf: Uint8Array): OpsetImport {
  const o: OpsetImport = { domain: '', version: 0 };
  for (const f of fields(buf)) {
    if (f.field === 1) o.domain = str(f);
    else if (f.field === 2) o.version = f.value;
  }
  return o;
}

function parseStringEntry(buf: Uint8Array): [string, string] {
  let k = '';
  let v = '';
  for (const f of fields(buf)) {
    if (f.field === 1) k = str(f);
    else if (f.field === 2) v = str(f);
  }
  return [k, v];
}

function tensorName(buf: Uint8Array): string {
  for (const f of fields(buf)) if (f.field === 8) return str(f);
  return '';
}

function parseValueInfo(buf: Uint8Array): TensorSpec {
  const spec: TensorSpec = { name: '', type: 'unknown' };
  for (const f of fields(buf)) {
    if (f.field === 1) spec.name = str(f);
    else if (f.field === 2) Object.assign(spec, parseType(need(f)));
    else if (f.field === 3) spec.doc = str(f);
  }
  if (!spec.doc) delete spec.doc;
  return spec;
}

/** TypeProto: tensor_type=1, sequence_type=4, map_type=5, sparse_tensor_type=8, optional_type=9. */
function parseType(buf: Uint8Array): { type: string; shape?: Dim[] } {
  for (const f of fields(buf)) {
    if (f.field === 1 || f.field === 8) return parseTensorType(need(f));
    if (f.field === 4) return { type: 'sequence' };
    if (f.field === 5) return { type: 'map' };
    if (f.field === 9) return { type: 'optional' };
  }
  return { type: 'unknown' };
}

function parseTensorType(buf: Uint8Array): { type: string; shape?: Dim[] } {
  let type = 'unknown';
  let shape: Dim[] | undefined;
  for (const f of fields(buf)) {
    if (f.field === 1) type = ELEM_TYPES[f.value] ?? `type${f.value}`;
    else if (f.field === 2) {
      shape = [];
      for (const d of fields(need(f))) if (d.field === 1) shape.push(parseDim(need(d)));
    }
  }
  return shape ? { type, shape } : { type };
}

function parseDim(buf: Uint8Array): Dim {
  let dim: Dim = null;
  for (const f of fields(buf)) {
    if (f.field === 1) dim = int64(f);
    else if (f.field === 2) dim = str(f);
  }
  return dim;
}

/** `float32[batch,4]`: the compact form used in human output. */
export function formatSpec(spec: TensorSpec): string {
  if (!spec.shape) return spec.type;
  return `${spec.type}[${spec.shape.map((d) => (d === null ? '?' : String(d))).join(',')}]`;
}
