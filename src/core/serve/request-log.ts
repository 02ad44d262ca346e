/**
 * The sampled request log of `mlo serve --log` (docs/models.md#serve-log): one JSON line per sampled
 * request, what `mlo monitor` reads.
 */
import { createWriteStream } from 'node:fs';
import type { Feeds, Signature } from '../model/codec.js';
import { toFlat, toNested, type TensorValue } from '../model/runtime.js';
import type { Target } from './endpoints.js';
import type { Outputs } from './runner.js';

export interface LoggedRequest {
  target: Target;
  status: number;
  ms: number;
  /** Absent when the request failed. */
  feeds?: Feeds;
  outputs?: Outputs;
}

export interface RequestLog {
  /** Draws whether this request is logged (each one with the probability `sample`). */
  sampled(): boolean;
  write(request: LoggedRequest): void;
  close(): Promise<void>;
}

/** Appends to `file`; a file opened with a sample of 0 is created and stays empty. */
export function openRequestLog({ file, sample }: { file: string; sample: number }): RequestLog {
  const stream = createWriteStream(file, { flags: 'a' });
  stream.on('error', () => {
    // A full disk must not take the server down; the log is a sample anyway.
  });
  return {
    sampled: () => sample > 0 && Math.random() < sample,
    write: (request) => stream.write(`${JSON.stringify(logLine(request))}\n`),
    close: () => new Promise<void>((r) => stream.end(() => r())),
  };
}

/**
 * Each input and output as nested arrays, first dimension first, so element i of every array is row i
 * of the request. A failed request has empty inputs and outputs.
 */
function logLine({ target, status, ms, feeds, outputs }: LoggedRequest) {
  const ok = feeds !== undefined && outputs !== undefined;
  return {
    ts: new Date().toISOString(),
    model: target.name,
    version: target.version,
    status,
    latency_ms: Math.round(ms * 1000) / 1000,
    inputs: ok ? namedInputs(target.runner.signature, feeds) : {},
    outputs: ok ? nested(outputs) : {},
  };
}

/**
 * The inputs under the model's feature names when its contract has them (the package signature's
 * `columns`, for a single 2-D input): `{"age": [31, 45], "plan": [...]}`, so `mlo monitor drift` matches
 * them to the training data's columns by name. Otherwise under the input names, as nested arrays.
 */
export function namedInputs(signature: Signature, feeds: Feeds): Record<string, unknown> {
  const columns = signature.columns;
  const only = signature.inputs.length === 1 ? feeds[signature.inputs[0].name] : undefined;
  if (!columns?.length || !only || only.dims.length !== 2 || only.dims[1] !== columns.length) return nested(feeds);
  const flat = toFlat(only.type, only.data as ArrayLike<unknown>);
  const rows = only.dims[0];
  const width = columns.length;
  const out: Record<string, unknown> = {};
  columns.forEach((name, j) => {
    const values = new Array(rows);
    for (let i = 0; i < rows; i++) values[i] = flat[i * width + j];
    out[name] = values;
  });
  return out;
}

function nested(tensors: Record<string, TensorValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, t] of Object.entries(tensors)) out[k] = toNested(t.type, t.data as ArrayLike<unknown>, t.dims);
  return out;
}
