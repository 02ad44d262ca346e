/**
 * JSON <-> tensors for the payloads mlo accepts: MLflow's scoring format (`inputs`, `instances`,
 * `dataframe_split`, `dataframe_records`), the Open Inference Protocol v2 (`inputs: [{name, shape,
 * datatype, data}]`) and plain `{input_name: value}` maps (input examples). Every rejection is an
 * InputError whose message names the input and what was expected; the server turns it into a 400.
 */
import type { TensorSpec } from './onnx.js';
import { InputError, describeShape, toTensorValue, type TensorValue, type TypedArray } from './runtime.js';

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Feature column names, in order, for a single 2-D input fed from tables. */
  columns?: string[];
}

export type Feeds = Record<string, TensorValue>;

export const V2_TYPES: Record<string, string> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  bfloat16: 'BF16',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function specsText(sig: Signature): string {
  return sig.inputs.map((i) => `${i.name} (${i.type}${describeShape(i.shape)})`).join(', ');
}

/**
 * JSON.parse that reports NaN and Infinity (which Python's json writes and JSON forbids) as such rather
 * than as a syntax error: those tokens become strings, and the tensor check names the input holding one.
 */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (/NaN|Infinity/.test(text)) {
      try {
        return JSON.parse(quoteNonFinite(text));
      } catch {
        // fall through to the original error
      }
    }
    throw new InputError(`malformed JSON: ${(err as Error).message}`);
  }
}

function quoteNonFinite(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    const m = /^(-?Infinity|NaN)/.exec(text.slice(i, i + 9));
    if (m) {
      out += `"${m[1]}"`;
      i += m[1].length - 1;
      continue;
    }
    out += c;
  }
  return out;
}

function byName(sig: Signature, map: Record<string, unknown>, where: string): Feeds {
  const feeds: Feeds = {};
  for (const spec of sig.inputs) {
    if (!(spec.name in map)) throw new InputError(`input '${spec.name}' is missing from ${where}; the model expects ${specsText(sig)}`);
    feeds[spec.name] = toTensorValue(spec, map[spec.name]);
  }
  for (const k of Object.keys(map)) {
    if (!sig.inputs.some((s) => s.name === k)) throw new InputError(`unknown input '${k}' in ${where}; the model expects ${specsText(sig)}`);
  }
  return feeds;
}

/** The body of MLflow's `POST /invocations`. */
export function decodeInvocations(sig: Signature, body: unknown): Feeds {
  if (!isObject(body)) throw new InputError(`the request body must be a JSON object with one of inputs, instances, dataframe_split, dataframe_records`);
  const keys = ['inputs', 'instances', 'dataframe_split', 'dataframe_records'].filter((k) => k in body);
  if (keys.length !== 1) {
    throw new InputError(
      keys.length === 0
        ? `the request body needs one of inputs, instances, dataframe_split, dataframe_records (got ${Object.keys(body).join(', ') || 'an empty object'})`
        : `the request body must hold exactly one of inputs, instances, dataframe_split, dataframe_records (got ${keys.join(', ')})`,
    );
  }
  const key = keys[0];
  const value = body[key];
  switch (key) {
    case 'inputs':
      if (isObject(value)) return namesFeatures(sig, value) ? columnMap(sig, value) : byName(sig, value, "'inputs'");
      return single(sig, value, "'inputs'");
    case 'instances':
      if (!Array.isArray(value)) throw new InputError(`'instances' must be a list of rows`);
      if (value.length > 0 && isObject(value[0])) {
        return namesFeatures(sig, value[0]) ? records(sig, value, "'instances'") : stackRecords(sig, value, "'instances'");
      }
      return single(sig, value, "'instances'");
    case 'dataframe_split': {
      if (!isObject(value) || !Array.isArray(value.data)) throw new InputError(`'dataframe_split' must be an object with 'columns' and 'data'`);
      const columns = Array.isArray(value.columns) ? value.columns.map(String) : undefined;
      return frame(sig, columns, value.data as unknown[]);
    }
    default:
      if (!Array.isArray(value)) throw new InputError(`'dataframe_records' must be a list of objects`);
      return records(sig, value, "'dataframe_records'");
  }
}

/**
 * True when `map` is keyed by the model's feature columns rather than by its input names: a
 * single-input model with a feature contract takes named columns in `inputs` and `instances` too.
 */
function namesFeatures(sig: Signature, map: Record<string, unknown>): boolean {
  if (!sig.columns) return false;
  return !sig.inputs.some((s) => s.name in map);
}

/** Rows given as objects keyed by column name (`dataframe_records`, record-style `instances`). */
function records(sig: Signature, value: unknown[], where: string): Feeds {
  if (value.length === 0) throw new InputError(`${where} is empty`);
  if (!value.every(isObject)) throw new InputError(`${where} must be a list of objects`);
  const columns = Object.keys(value[0]);
  const rows = (value as Record<string, unknown>[]).map((r, i) =>
    columns.map((c) => {
      if (!(c in r)) throw new InputError(`record ${i} in ${where} has no column '${c}'`);
      return r[c];
    }),
  );
  return frame(sig, columns, rows);
}

/** `{"inputs": {"f1": [...], "f2": [...]}}`: one list per feature column, all of one length. */
function columnMap(sig: Signature, map: Record<string, unknown>): Feeds {
  const columns = Object.keys(map);
  const lists = columns.map((c) => map[c]);
  if (!lists.every(Array.isArray)) throw new InputError(`each column of 'inputs' must be a list of values`);
  const n = (lists[0] as unknown[]).length;
  columns.forEach((c, i) => {
    if ((lists[i] as unknown[]).length !== n)
      throw new InputError(`column '${c}' of 'inputs' has ${(lists[i] as unknown[]).length} values; '${columns[0]}' has ${n}`);
  });
  const rows: unknown[][] = [];
  for (let r = 0; r < n; r++) rows.push(lists.map((l) => (l as unknown[])[r]));
  return frame(sig, columns, rows);
}

function single(sig: Signature, value: unknown, where: string): Feeds {
  if (sig.inputs.length !== 1) {
    throw new InputError(`${where} holds one array but the model has ${sig.inputs.length} inputs; send an object keyed by input name: ${specsText(sig)}`);
  }
  const spec = sig.inputs[0];
  return { [spec.name]: toTensorValue(spec, value) };
}

/** Rows given as objects keyed by input name (TF-serving `instances`): stacked per input. */
function stackRecords(sig: Signature, rows: unknown[], where: string): Feeds {
  const map: Record<string, unknown[]> = {};
  for (const spec of sig.inputs) map[spec.name] = [];
  rows.forEach((row, i) => {
    if (!isObject(row)) throw new InputError(`row ${i} of ${where} is not an object`);
    for (const spec of sig.inputs) {
      if (!(spec.name in row)) throw new InputError(`input '${spec.name}' is missing from row ${i} of ${where}; the model expects ${specsText(sig)}`);
      map[spec.name].push(row[spec.name]);
    }
  });
  return byName(sig, map, where);
}

/**
 * A table (column names and rows) mapped onto the inputs: columns named after inputs feed those inputs;
 * otherwise a single 2-D input takes the signature's feature columns by name (or, for a model that names
 * no features, all columns in order, which the input's width then checks).
 */
export function frame(sig: Signature, columns: string[] | undefined, rows: unknown[]): Feeds {
  if (!rows.every(Array.isArray)) throw new InputError(`table rows must be lists of values`);
  const table = rows as unknown[][];
  const names = sig.inputs.map((s) => s.name);
  if (
    columns &&
    names.every((n) => columns.includes(n)) &&
    (sig.inputs.length > 1 || !(sig.inputs[0].shape && sig.inputs[0].shape.length === 2 && sig.inputs[0].shape[1] !== 1))
  ) {
    const feeds: Feeds = {};
    for (const spec of sig.inputs) {
      const c = columns.indexOf(spec.name);
      let col: unknown[] = table.map((r) => r[c]);
      if (spec.shape && spec.shape.length === 2 && !Array.isArray(col[0])) col = col.map((v) => [v]);
      feeds[spec.name] = toTensorValue(spec, col);
    }
    return feeds;
  }
  if (sig.inputs.length !== 1) {
    throw new InputError(
      `cannot map columns ${columns?.join(', ') ?? '(unnamed)'} to the model's inputs; name the columns after the inputs: ${specsText(sig)}`,
    );
  }
  const spec = sig.inputs[0];
  if (columns && sig.columns) {
    // By name, never by position: extra columns (an id, a label) are left out.
    const missing = sig.columns.filter((c) => !columns.includes(c));
    if (missing.length > 0) {
      throw new InputError(
        `missing feature column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; input '${spec.name}' takes ${sig.columns.join(', ')} (got ${columns.join(', ')})`,
      );
    }
    const idx = sig.columns.map((c) => columns.indexOf(c));
    return {
      [spec.name]: toTensorValue(
        spec,
        table.map((r) => idx.map((i) => r[i])),
      ),
    };
  }
  return { [spec.name]: toTensorValue(spec, table) };
}

export interface V2Request {
  id?: string;
  feeds: Feeds;
  outputs?: string[];
}

/** The body of the Open Inference Protocol's `POST /v2/models/{name}/infer`. */
export function decodeV2(sig: Signature, body: unknown): V2Request {
  if (!isObject(body) || !Array.isArray(body.inputs)) throw new InputError(`the request body must be an object with an 'inputs' list`);
  const feeds: Feeds = {};
  for (const t of body.inputs as unknown[]) {
    if (!isObject(t) || typeof t.name !== 'string') throw new InputError(`each item of 'inputs' needs a 'name'`);
    const spec = sig.inputs.find((s) => s.name === t.name);
    if (!spec) throw new InputError(`unknown input '${t.name}'; the model expects ${specsText(sig)}`);
    if (spec.name in feeds) throw new InputError(`input '${spec.name}' is given more than once in 'inputs'; send each input once`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
      throw new InputError(`input '${spec.name}' needs a 'shape' list of non-negative integers; expected ${describeShape(spec.shape)}`);
    }
    const want = V2_TYPES[spec.type] ?? spec.type.toUpperCase();
    if (t.datatype !== want) throw new InputError(`input '${spec.name}' has datatype ${String(t.datatype)}; expected ${want}`);
    if (!('data' in t)) throw new InputError(`input '${spec.name}' has no 'data'`);
    feeds[spec.name] = toTensorValue(spec, t.data, t.shape as number[]);
  }
  for (const spec of sig.inputs) {
    if (!(spec.name in feeds)) throw new InputError(`input '${spec.name}' is missing; the model expects ${specsText(sig)}`);
  }
  let outputs: string[] | undefined;
  if (Array.isArray(body.outputs)) {
    outputs = (body.outputs as unknown[]).map((o) => (isObject(o) ? String(o.name) : String(o)));
    for (const o of outputs) {
      if (!sig.outputs.some((s) => s.name === o))
        throw new InputError(`unknown output '${o}'; the model's outputs are ${sig.outputs.map((s) => s.name).join(', ')}`);
    }
  }
  return { id: typeof body.id === 'string' ? body.id : undefined, feeds, outputs };
}

/** An input example: any /invocations body, a v2 body, an `{input_name: value}` map, or a bare array. */
export function decodeExample(sig: Signature, body: unknown): Feeds {
  if (Array.isArray(body)) return single(sig, body, 'the example');
  if (isObject(body)) {
    if (Array.isArray(body.inputs) && body.inputs.length > 0 && isObject(body.inputs[0]) && 'datatype' in body.inputs[0]) return decodeV2(sig, body).feeds;
    if (['inputs', 'instances', 'dataframe_split', 'dataframe_records'].some((k) => k in body)) return decodeInvocations(sig, body);
    return byName(sig, body, 'the example');
  }
  throw new InputError('the example must be a JSON object or array');
}

/** Appends a JSON array of `data` (nested by `dims`) to `out`; NaN and Infinity become null. */
export function encodeNested(type: string, data: ArrayLike<unknown>, dims: readonly number[], offset = 0, count = data.length): string {
  if (dims.length <= 1) return encodeFlat(type, data, offset, count);
  let inner = 1;
  for (let i = 1; i < dims.length; i++) inner *= dims[i];
  const rows = inner === 0 ? dims[0] : count / inner;
  const sub = dims.slice(1);
  let s = '[';
  for (let r = 0; r < rows; r++) {
    if (r) s += ',';
    s += encodeNested(type, data, sub, offset + r * inner, inner);
  }
  return s + ']';
}

export function encodeFlat(type: string, data: ArrayLike<unknown>, offset = 0, count = data.length): string {
  let s = '[';
  const end = offset + count;
  if (type === 'string') {
    for (let i = offset; i < end; i++) s += (i > offset ? ',' : '') + JSON.stringify(data[i]);
  } else if (type === 'bool') {
    for (let i = offset; i < end; i++) s += (i > offset ? ',' : '') + (data[i] ? 'true' : 'false');
  } else {
    for (let i = offset; i < end; i++) {
      const v = data[i] as number;
      // v - v is 0 for finite numbers and NaN otherwise; bigint (int64) prints as digits.
      s += (i > offset ? ',' : '') + (typeof v === 'bigint' || v - v === 0 ? String(v) : 'null');
    }
  }
  return s + ']';
}

export type { TypedArray };
