/**
 * The sampled request log of `mlo serve --log` (docs/models.md#serve-log): one JSON line per sampled
 * request, what `mlo monitor` reads.
 */
import { createWriteStream } from 'node:fs';
import type { Feeds } from '../model/codec.js';
import { toNested, type TensorValue } from '../model/runtime.js';
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
    inputs: ok ? nested(feeds) : {},
    outputs: ok ? nested(outputs) : {},
  };
}

function nested(tensors: Record<string, TensorValue>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, t] of Object.entries(tensors)) out[k] = toNested(t.type, t.data as ArrayLike<unknown>, t.dims);
  return out;
}
