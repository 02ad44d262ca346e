/**
 * Known input, known output: `model package` records an input example and what the model answered for
 * it (model.yaml `example`, copied into each registry version). `mlo model verify` and `mlo serve` at
 * start-up run that input again and compare, so a swapped model file, a hand-edited model.yaml or an
 * onnxruntime upgrade that changes answers is caught before any traffic.
 *
 * Numbers match when |actual - expected| <= atol + rtol * |expected| (numpy.isclose); NaN matches NaN;
 * strings and booleans match exactly. The defaults allow float32 rounding and a changed summation order
 * (a different thread count or kernel), and nothing a different model would produce.
 */
import { MloError } from '../../base/errors.js';
import type { Feeds, Signature } from './codec.js';
import { loadSession, runOnce, toFlat, toTensorValue, type TensorValue } from './runtime.js';
import type { ModelExample } from './schema.js';

export const DEFAULT_RTOL = 1e-5;
export const DEFAULT_ATOL = 1e-6;

export interface Tolerance {
  rtol: number;
  atol: number;
}

export interface OutputCheck {
  name: string;
  ok: boolean;
  /** Values compared. */
  values: number;
  /** Values beyond the tolerance. */
  mismatched: number;
  /** Largest |actual - expected| over the numeric values; null when none are numeric (or shapes differ). */
  maxAbsDiff: number | null;
  /** Why the output fails as a whole (shape changed, output missing), when it does. */
  reason?: string;
}

export interface VerifyResult {
  label: string;
  ok: boolean;
  /** True when the recorded input was made up from the signature (no --example at package time). */
  synthesized: boolean;
  rtol: number;
  atol: number;
  outputs: OutputCheck[];
}

/** The recorded example, or an MLO_NO_EXAMPLE error: a check with nothing to compare must not pass. */
export function requireExample(example: ModelExample | undefined, label: string): ModelExample & { outputs: Record<string, unknown> } {
  if (!example?.outputs || Object.keys(example.outputs).length === 0) {
    throw new MloError('MLO_NO_EXAMPLE', `${label} has no recorded example output to verify against`, {
      hint: 'package the model again (`mlo model package FILE --name NAME --example input.json`), which records the input and its output',
    });
  }
  return example as ModelExample & { outputs: Record<string, unknown> };
}

export function exampleFeeds(sig: Signature, example: ModelExample, label: string): Feeds {
  const feeds: Feeds = {};
  for (const spec of sig.inputs) {
    if (!(spec.name in example.inputs)) {
      throw new MloError('MLO_BAD_FILE', `${label}: the recorded example has no value for input '${spec.name}'`, { hint: 'package the model again' });
    }
    feeds[spec.name] = toTensorValue(spec, example.inputs[spec.name]);
  }
  return feeds;
}

/** Compares what the model answered now with the recorded outputs. */
export function compareOutputs(expected: Record<string, unknown>, actual: Record<string, TensorValue>, tol: Tolerance): OutputCheck[] {
  return Object.entries(expected).map(([name, want]) => {
    const got = actual[name];
    if (!got) return { name, ok: false, values: 0, mismatched: 0, maxAbsDiff: null, reason: 'the model no longer has this output' };
    const wantDims = nestedDims(want);
    if (wantDims.join(',') !== got.dims.join(',')) {
      return { name, ok: false, values: 0, mismatched: 0, maxAbsDiff: null, reason: `shape [${got.dims.join(', ')}], recorded [${wantDims.join(', ')}]` };
    }
    const w = flatten(want);
    const g = toFlat(got.type, got.data as ArrayLike<unknown>);
    let mismatched = 0;
    let maxAbsDiff: number | null = null;
    for (let i = 0; i < w.length; i++) {
      const a = g[i];
      const e = w[i];
      if (typeof e === 'number' && typeof a === 'number') {
        if (Number.isNaN(e) || Number.isNaN(a)) {
          if (!(Number.isNaN(e) && Number.isNaN(a))) mismatched++;
          continue;
        }
        if (e === a) {
          maxAbsDiff = Math.max(maxAbsDiff ?? 0, 0);
          continue;
        }
        const diff = Math.abs(a - e);
        maxAbsDiff = Math.max(maxAbsDiff ?? 0, diff);
        if (!(diff <= tol.atol + tol.rtol * Math.abs(e))) mismatched++;
      } else if (a !== e) {
        mismatched++;
      }
    }
    return { name, ok: mismatched === 0, values: w.length, mismatched, maxAbsDiff };
  });
}

/** One line naming each output that moved, and by how much. */
export function mismatchError(result: VerifyResult): MloError {
  const bad = result.outputs
    .filter((o) => !o.ok)
    .map((o) =>
      o.reason
        ? `output '${o.name}': ${o.reason}`
        : `output '${o.name}': ${o.mismatched} of ${o.values} values moved, max abs difference ${o.maxAbsDiff === null ? 'n/a' : formatDiff(o.maxAbsDiff)}`,
    );
  return new MloError(
    'MLO_EXAMPLE_MISMATCH',
    `${result.label} no longer gives its recorded output for its recorded input (rtol ${result.rtol}, atol ${result.atol}): ${bad.join('; ')}`,
    { hint: 'check the model file and the onnxruntime version; if the change is intended, package and register the model again' },
  );
}

export function formatDiff(x: number): string {
  return x === 0 ? '0' : x.toPrecision(3);
}

/** Runs the recorded example through the model (its own session) and compares. */
export async function verifyModel(options: {
  bytes: Uint8Array;
  signature: Signature;
  example: ModelExample | undefined;
  label: string;
  tolerance?: Partial<Tolerance>;
}): Promise<VerifyResult> {
  const tol = { rtol: options.tolerance?.rtol ?? DEFAULT_RTOL, atol: options.tolerance?.atol ?? DEFAULT_ATOL };
  const example = requireExample(options.example, options.label);
  const feeds = exampleFeeds(options.signature, example, options.label);
  const loaded = await loadSession(options.bytes, options.signature, { label: options.label });
  try {
    const actual = await runOnce(loaded, feeds, options.label);
    const outputs = compareOutputs(example.outputs, actual, tol);
    return { label: options.label, ok: outputs.every((o) => o.ok), synthesized: example.synthesized, ...tol, outputs };
  } finally {
    await loaded.session.release();
  }
}

function nestedDims(v: unknown): number[] {
  const dims: number[] = [];
  let x = v;
  while (Array.isArray(x)) {
    dims.push(x.length);
    x = x[0];
  }
  return dims;
}

function flatten(v: unknown): unknown[] {
  if (!Array.isArray(v)) return [v];
  const out: unknown[] = [];
  const walk = (x: unknown) => {
    if (Array.isArray(x)) for (const y of x) walk(y);
    else out.push(x);
  };
  walk(v);
  return out;
}
