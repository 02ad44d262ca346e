/**
 * What one server serves: an endpoint per model name (/v2/models/{name}), each holding one or more
 * loaded versions (targets) and the weights that split its traffic between them (`--split`).
 */
import { usageError } from '../../base/errors.js';
import { loadSession } from '../model/runtime.js';
import { DEFAULT_ATOL, DEFAULT_RTOL, compareOutputs, exampleFeeds, mismatchError, requireExample, type Tolerance } from '../model/verify.js';
import type { Repo } from '../repo/repo.js';
import type { ServerMetrics } from './metrics.js';
import { Runner } from './runner.js';
import { parseSplit, resolveSource, type ResolvedModel } from './sources.js';

/** One loaded model version. */
export interface Target {
  name: string;
  version: number | null;
  versionText: string;
  ref: string;
  hash: string;
  runner: Runner;
  /** True when the model gave its recorded example output at load time. */
  verified: boolean;
  /** Response headers naming the answering model and version, built once. */
  headers: string[];
}

export interface Endpoint {
  name: string;
  /** Replaced in place when a followed alias moves (reload.ts). */
  targets: Target[];
  weights: number[];
  /** Smooth weighted round-robin state, one counter per target. */
  current: number[];
  total: number;
}

/** The models one endpoint was asked to serve, before loading. */
export interface EndpointSource {
  name: string;
  resolved: ResolvedModel[];
  weights: number[];
}

export interface ServedModel {
  name: string;
  version: number | null;
  ref: string;
  hash: string;
  weight?: number;
  batching: boolean;
  /** True when the model gave its recorded example output before serving (false: none recorded, or --no-verify). */
  verified: boolean;
}

export type LoadTarget = (m: ResolvedModel) => Promise<Target>;

export interface LoaderOptions {
  maxBatch?: number;
  metrics: ServerMetrics;
  /** Check each model against its recorded example before it takes traffic; false skips the check. */
  verify?: false | Partial<Tolerance>;
}

/**
 * Loads a model version into an onnxruntime session behind its own micro-batcher, then runs its recorded
 * example through that runner (the path requests take) and refuses the version when the answer moved.
 */
export function targetLoader(options: LoaderOptions): LoadTarget {
  return async (m) => {
    const { session } = await loadSession(m.bytes, m.signature, { label: m.ref });
    const versionText = m.version === null ? 'path' : String(m.version);
    // The start-up check is no traffic: batches count in the metrics only once it is done.
    let live = false;
    const runner = new Runner(session, m.signature, {
      maxBatch: options.maxBatch,
      onBatch: (rows) => {
        if (live) options.metrics.batch(m.name, versionText, rows);
      },
    });
    let verified = false;
    if (options.verify !== false && m.example?.outputs) {
      try {
        await checkExample(runner, m, options.verify ?? {});
      } catch (err) {
        await runner.release();
        throw err;
      }
      verified = true;
    }
    live = true;
    return {
      verified,
      name: m.name,
      version: m.version,
      versionText,
      ref: m.ref,
      hash: m.hash,
      runner,
      headers: m.version === null ? ['x-mlo-model', m.name] : ['x-mlo-model', m.name, 'x-mlo-model-version', String(m.version)],
    };
  };
}

async function checkExample(runner: Runner, m: ResolvedModel, tolerance: Partial<Tolerance>): Promise<void> {
  const label = m.version === null ? m.ref : `${m.name}@${m.version}`;
  const tol = { rtol: tolerance.rtol ?? DEFAULT_RTOL, atol: tolerance.atol ?? DEFAULT_ATOL };
  const example = requireExample(m.example, label);
  const outputs = compareOutputs(example.outputs, await runner.infer(exampleFeeds(m.signature, example, label)), tol);
  if (!outputs.every((o) => o.ok)) throw mismatchError({ label, ok: false, synthesized: example.synthesized, ...tol, outputs });
}

/** Resolves `--split` groups, then each model argument, into one source per endpoint. */
export async function resolveEndpointSources(options: { cwd: string; repo?: Repo; models: string[]; split?: string }): Promise<EndpointSource[]> {
  const sources: EndpointSource[] = [];
  const ctx = { cwd: options.cwd, repo: options.repo };
  if (options.split) {
    for (const entries of parseSplit(options.split).values()) {
      const resolved: ResolvedModel[] = [];
      for (const e of entries) resolved.push(await resolveSource(e.ref, ctx));
      const name = resolved[0].name;
      const other = resolved.find((r) => r.name !== name);
      if (other) throw usageError(`--split mixes models '${name}' and '${other.name}'`, 'a split serves versions of one model; list each model separately');
      sources.push({ name, resolved, weights: entries.map((e) => e.weight) });
    }
  }
  for (const arg of options.models) {
    const r = await resolveSource(arg, ctx);
    sources.push({ name: r.name, resolved: [r], weights: [1] });
  }
  if (sources.length === 0) throw usageError('nothing to serve', 'give a model path or registry reference (NAME, NAME@VERSION, NAME@ALIAS), or --split');
  return sources;
}

/** Loads every source; on any failure releases the sessions already loaded and rethrows. */
export async function loadEndpoints(sources: EndpointSource[], load: LoadTarget): Promise<Map<string, Endpoint>> {
  const endpoints = new Map<string, Endpoint>();
  const loaded: Target[] = [];
  try {
    for (const s of sources) {
      const targets: Target[] = [];
      for (const r of s.resolved) {
        const t = await load(r);
        loaded.push(t);
        targets.push(t);
      }
      if (endpoints.has(s.name))
        throw usageError(`model '${s.name}' is given twice`, 'serve each name once; use --split to serve several versions of one name');
      endpoints.set(s.name, { name: s.name, targets, weights: s.weights, current: s.weights.map(() => 0), total: s.weights.reduce((a, b) => a + b, 0) });
    }
  } catch (err) {
    for (const t of loaded) await t.runner.session.release();
    throw err;
  }
  return endpoints;
}

/** The target that answers the next request of an endpoint. */
export function pickTarget(ep: Endpoint): Target {
  if (ep.targets.length === 1) return ep.targets[0];
  // Smooth weighted round-robin (nginx): exact proportions, evenly interleaved.
  let best = 0;
  for (let i = 0; i < ep.targets.length; i++) {
    ep.current[i] += ep.weights[i];
    if (ep.current[i] > ep.current[best]) best = i;
  }
  ep.current[best] -= ep.total;
  return ep.targets[best];
}

/** The served names, for messages about a name that is not. */
/**
 * A name, version or path from a request, as echoed in an error body: at most 100 characters. The
 * client wrote it, so the answer to a 16 KB URL must not be 16 KB of its own text.
 */
export function echoed(text: string): string {
  return text.length <= 100 ? text : `${text.slice(0, 100)}... (${text.length} characters)`;
}

export function servedNames(endpoints: Map<string, Endpoint>): string {
  return [...endpoints.keys()].join(', ');
}

/** Every loaded version, with its weight when it shares an endpoint. */
export function describeServed(endpoints: Map<string, Endpoint>): ServedModel[] {
  const served: ServedModel[] = [];
  for (const ep of endpoints.values()) {
    ep.targets.forEach((t, i) =>
      served.push({
        name: t.name,
        version: t.version,
        ref: t.ref,
        hash: t.hash,
        batching: t.runner.batchable,
        verified: t.verified,
        ...(ep.targets.length > 1 ? { weight: ep.weights[i] } : {}),
      }),
    );
  }
  return served;
}

/** Releases every loaded session once its in-flight runs finish. */
export async function releaseEndpoints(endpoints: Map<string, Endpoint>): Promise<void> {
  for (const ep of endpoints.values()) for (const t of ep.targets) await t.runner.release();
}
