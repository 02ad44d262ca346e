/**
 * `mlo serve`: an HTTP server (node:http) over onnxruntime-node speaking the Open Inference Protocol v2
 * and MLflow's `/invocations` scoring format. Several models per server, micro-batching of concurrent
 * requests (runner.ts), weighted traffic splits between versions, Prometheus metrics, optional bearer
 * auth, sampled request logs, reload when a served alias moves, and a graceful close.
 *
 * The request path is kept lean on purpose (it is the benchmark): no URL object, one JSON.parse, typed
 * arrays straight into ort tensors, responses encoded into one string, header arrays instead of objects.
 */
import { timingSafeEqual } from 'node:crypto';
import { createWriteStream, unwatchFile, watchFile, type WriteStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { MloError, usageError } from '../../base/errors.js';
import { V2_TYPES, decodeInvocations, decodeV2, encodeFlat, encodeNested, parseJson, type Feeds } from '../model/codec.js';
import { InputError, loadSession, toNested, type TensorValue } from '../model/runtime.js';
import { aliasesFile, registryDir } from '../registry/registry.js';
import type { Repo } from '../repo/repo.js';
import { ServerMetrics } from './metrics.js';
import { RunError, Runner, type Outputs } from './runner.js';
import { parseSplit, resolveRegistered, resolveSource, type ResolvedModel } from './sources.js';

export const DEFAULT_MAX_BODY = 10 * 1024 * 1024;

export interface ServeOptions {
  cwd: string;
  repo?: Repo;
  /** Paths or registry references. */
  models: string[];
  /** `NAME@V=WEIGHT,...`: serve several versions of NAME behind one endpoint. */
  split?: string;
  host?: string;
  port?: number;
  token?: string;
  maxBody?: number;
  maxBatch?: number;
  log?: { file: string; sample: number };
  /** Watch registry aliases and reload when they move (default true). */
  watch?: boolean;
  /** Seconds between checks of watched alias files (default 0.5). */
  watchInterval?: number;
  /** Server events for the operator (reloads, failures). */
  onEvent?: (message: string) => void;
}

interface Target {
  name: string;
  version: number | null;
  versionText: string;
  ref: string;
  hash: string;
  runner: Runner;
  /** Response headers naming the answering model and version, built once. */
  headers: string[];
}

interface Endpoint {
  name: string;
  targets: Target[];
  weights: number[];
  current: number[];
  total: number;
}

export interface ServedModel {
  name: string;
  version: number | null;
  ref: string;
  hash: string;
  weight?: number;
  batching: boolean;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  models: ServedModel[];
  /** Stops accepting connections, finishes in-flight requests, releases the sessions. */
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const metrics = new ServerMetrics();
  const maxBody = options.maxBody ?? DEFAULT_MAX_BODY;
  const token = options.token ? Buffer.from(`Bearer ${options.token}`) : undefined;
  const event = options.onEvent ?? (() => {});
  const endpoints = new Map<string, Endpoint>();
  const watched: string[] = [];
  const loaded: Runner[] = [];

  const makeRunner = async (m: ResolvedModel): Promise<Runner> => {
    const { session } = await loadSession(m.bytes, m.signature, { label: m.ref });
    const versionText = m.version === null ? 'path' : String(m.version);
    const runner = new Runner(session, m.signature, { maxBatch: options.maxBatch, onBatch: (rows) => metrics.batch(m.name, versionText, rows) });
    loaded.push(runner);
    return runner;
  };
  const makeTarget = async (m: ResolvedModel): Promise<Target> => ({
    name: m.name,
    version: m.version,
    versionText: m.version === null ? 'path' : String(m.version),
    ref: m.ref,
    hash: m.hash,
    runner: await makeRunner(m),
    headers: m.version === null ? ['x-mlo-model', m.name] : ['x-mlo-model', m.name, 'x-mlo-model-version', String(m.version)],
  });

  const addEndpoint = (name: string, targets: Target[], weights: number[]) => {
    if (endpoints.has(name)) throw usageError(`model '${name}' is given twice`, 'serve each name once; use --split to serve several versions of one name');
    endpoints.set(name, { name, targets, weights, current: weights.map(() => 0), total: weights.reduce((a, b) => a + b, 0) });
  };

  const sources: { name: string; resolved: ResolvedModel[]; weights: number[] }[] = [];
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
  try {
    for (const s of sources) {
      const targets: Target[] = [];
      for (const r of s.resolved) targets.push(await makeTarget(r));
      addEndpoint(s.name, targets, s.weights);
    }
  } catch (err) {
    for (const r of loaded) await r.session.release();
    throw err;
  }

  // Reload targets that follow an alias (or the latest version) when the registry files change.
  if (options.repo && options.watch !== false) {
    const repo = options.repo;
    for (const s of sources) {
      s.resolved.forEach((r, i) => {
        if (!r.moving) return;
        const ref = r.moving;
        const target = () => endpoints.get(s.name)!.targets[i];
        let reloading = false;
        const check = async () => {
          if (reloading || closing) return;
          reloading = true;
          try {
            const next = await resolveRegistered(repo, ref, r.ref);
            const current = target();
            if (next.version === current.version && next.hash === current.hash) return;
            const fresh = await makeTarget(next);
            endpoints.get(s.name)!.targets[i] = fresh;
            event(`reloaded ${r.ref}: version ${current.versionText} -> ${fresh.versionText}`);
            void current.runner.release();
          } catch (err) {
            event(`could not reload ${r.ref}: ${(err as Error).message}; still serving version ${target().versionText}`);
          } finally {
            reloading = false;
          }
        };
        const files = [ref.selector && ref.selector !== 'latest' ? aliasesFile(repo, ref.name) : join(registryDir(repo, ref.name), 'versions')];
        for (const f of files) {
          watchFile(f, { interval: Math.round((options.watchInterval ?? 0.5) * 1000), persistent: false }, () => void check());
          watched.push(f);
        }
      });
    }
  }

  const log = options.log ? openLog(options.log.file) : undefined;
  const sample = options.log?.sample ?? 0;

  let closing = false;
  let active = 0;
  let drained: (() => void) | undefined;

  const pick = (ep: Endpoint): Target => {
    if (ep.targets.length === 1) return ep.targets[0];
    // Smooth weighted round-robin (nginx): exact proportions, evenly interleaved.
    let best = 0;
    for (let i = 0; i < ep.targets.length; i++) {
      ep.current[i] += ep.weights[i];
      if (ep.current[i] > ep.current[best]) best = i;
    }
    ep.current[best] -= ep.total;
    return ep.targets[best];
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (!token) return true;
    const h = req.headers.authorization;
    if (!h) return false;
    const got = Buffer.from(h);
    return got.length === token.length && timingSafeEqual(got, token);
  };

  const send = (res: ServerResponse, status: number, body: string, extra?: string[]) => {
    const headers = ['content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(body))];
    if (extra) for (let i = 0; i < extra.length; i++) headers.push(extra[i]);
    if (closing) headers.push('connection', 'close');
    res.writeHead(status, headers);
    res.end(body);
  };

  const finish = () => {
    metrics.inflight--;
    if (--active === 0 && drained) drained();
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    active++;
    metrics.inflight++;
    res.on('close', finish);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method;

    if (path === '/v2/health/live' || path === '/ping' || path === '/health') {
      return send(res, 200, '{"live":true}');
    }
    if (path === '/v2/health/ready') {
      return send(res, closing ? 503 : 200, closing ? '{"ready":false}' : '{"ready":true}');
    }
    if (!authorized(req)) {
      req.resume();
      return send(res, 401, '{"error":"missing or wrong bearer token"}', ['www-authenticate', 'Bearer']);
    }
    if (path === '/metrics') {
      const body = metrics.render();
      res.writeHead(200, ['content-type', 'text/plain; version=0.0.4; charset=utf-8', 'content-length', String(Buffer.byteLength(body))]);
      res.end(body);
      return;
    }
    if (path === '/v2' || path === '/v2/') {
      return send(res, 200, JSON.stringify({ name: 'mlo', version: '1', extensions: [] }));
    }
    if (path === '/invocations') {
      if (method !== 'POST') return send(res, 405, JSON.stringify({ error_code: 'BAD_REQUEST', message: 'use POST' }), ['allow', 'POST']);
      let ep: Endpoint | undefined;
      const wanted = (q >= 0 ? new URLSearchParams(url.slice(q + 1)).get('model') : null) ?? (req.headers['x-mlo-model'] as string | undefined);
      if (wanted) ep = endpoints.get(wanted);
      else if (endpoints.size === 1) ep = endpoints.values().next().value;
      if (!ep) {
        req.resume();
        return send(res, wanted ? 404 : 400, JSON.stringify({
          error_code: wanted ? 'RESOURCE_DOES_NOT_EXIST' : 'BAD_REQUEST',
          message: wanted ? `no model named '${wanted}' is served here; serving ${[...endpoints.keys()].join(', ')}` : `several models are served (${[...endpoints.keys()].join(', ')}): add ?model=NAME`,
        }));
      }
      return void infer(req, res, ep, undefined, 'mlflow');
    }
    if (path.startsWith('/v2/models/')) {
      const parts = path.slice(11).split('/').map(safeDecode);
      const ep = endpoints.get(parts[0]);
      let rest = parts.slice(1);
      let version: string | undefined;
      if (rest[0] === 'versions' && rest.length >= 2) {
        version = rest[1];
        rest = rest.slice(2);
      }
      if (!ep) {
        req.resume();
        return send(res, 404, JSON.stringify({ error: `no model named '${parts[0]}' is served here; serving ${[...endpoints.keys()].join(', ')}` }));
      }
      const target = version === undefined ? undefined : ep.targets.find((t) => t.versionText === version);
      if (version !== undefined && !target) {
        req.resume();
        return send(res, 404, JSON.stringify({ error: `model '${ep.name}' version ${version} is not served here; serving versions ${ep.targets.map((t) => t.versionText).join(', ')}` }));
      }
      const action = rest.join('/');
      if (action === '' && method === 'GET') return send(res, 200, JSON.stringify(modelMetadata(ep, target)));
      if (action === 'ready' && method === 'GET') return send(res, 200, JSON.stringify({ name: ep.name, ready: !closing }));
      if (action === 'infer') {
        if (method !== 'POST') return send(res, 405, '{"error":"use POST"}', ['allow', 'POST']);
        return void infer(req, res, ep, target, 'v2');
      }
    }
    req.resume();
    send(res, 404, JSON.stringify({ error: `no route for ${method} ${path}` }));
  };

  const infer = async (req: IncomingMessage, res: ServerResponse, ep: Endpoint, fixed: Target | undefined, protocol: 'v2' | 'mlflow') => {
    const started = performance.now();
    const target = fixed ?? pick(ep);
    const versionHeaders = target.headers;
    let status = 200;
    let feeds: Feeds | undefined;
    let outputs: Outputs | undefined;
    try {
      const body = await readBody(req, maxBody);
      const json = parseJson(body);
      let wanted: string[] | undefined;
      let id: string | undefined;
      if (protocol === 'v2') {
        const r = decodeV2(target.runner.signature, json);
        feeds = r.feeds;
        wanted = r.outputs;
        id = r.id;
      } else {
        feeds = decodeInvocations(target.runner.signature, json);
      }
      outputs = await target.runner.infer(feeds);
      const text = protocol === 'v2' ? encodeV2(target, outputs, wanted, id) : encodeInvocations(target, outputs);
      send(res, 200, text, versionHeaders);
    } catch (err) {
      const { code, message } = classify(err);
      status = code;
      const body = protocol === 'v2' ? JSON.stringify({ error: message }) : JSON.stringify({ error_code: code === 400 || code === 413 ? 'BAD_REQUEST' : 'INTERNAL_ERROR', message });
      send(res, code, body, code === 413 ? [...versionHeaders, 'connection', 'close'] : versionHeaders);
    }
    const ms = performance.now() - started;
    metrics.request(target.name, target.versionText, status, ms / 1000);
    if (log && sample > 0 && Math.random() < sample) writeLog(log, { target, status, ms, feeds: status === 200 ? feeds : undefined, outputs });
  };

  const server: Server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 }, (req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      // A bug in routing must cost one request, not the server.
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: `internal error: ${(err as Error).message}` }));
      else res.destroy();
    }
  });
  // Small responses: send them now rather than waiting to coalesce with later writes.
  server.on('connection', (socket) => socket.setNoDelay(true));
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new MloError('MLO_PORT_IN_USE', `port ${options.port} on ${options.host ?? '127.0.0.1'} is already in use`, { hint: 'stop the other server or choose another --port (0 picks a free one)' })
          : err,
      );
    });
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const served: ServedModel[] = [];
  for (const ep of endpoints.values()) {
    ep.targets.forEach((t, i) =>
      served.push({ name: t.name, version: t.version, ref: t.ref, hash: t.hash, batching: t.runner.batchable, ...(ep.targets.length > 1 ? { weight: ep.weights[i] } : {}) }),
    );
  }

  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    host: address.address,
    port: address.port,
    models: served,
    close() {
      closed ??= (async () => {
        closing = true;
        for (const f of watched) unwatchFile(f);
        const stopped = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        if (active > 0) {
          await Promise.race([new Promise<void>((r) => (drained = r)), new Promise((r) => setTimeout(r, 30_000).unref())]);
        }
        server.closeAllConnections();
        await stopped;
        for (const ep of endpoints.values()) for (const t of ep.targets) await t.runner.release();
        if (log) await new Promise<void>((r) => log.end(() => r()));
      })();
      return closed;
    },
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function classify(err: unknown): { code: number; message: string } {
  if (err instanceof HttpError) return { code: err.status, message: err.message };
  if (err instanceof InputError) return { code: 400, message: err.message };
  if (err instanceof RunError) return { code: 500, message: `the model failed to run: ${err.message}` };
  return { code: 500, message: `internal error: ${(err as Error)?.message ?? String(err)}` };
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > max) {
      // Read and drop the body so the client can finish sending and see the 413 (up to a bound).
      let dropped = 0;
      req.on('data', (c: Buffer) => {
        dropped += c.length;
        if (dropped > max * 8) req.destroy();
      });
      req.on('end', () => reject(new HttpError(413, `the request body is ${declared} bytes; the limit is ${max} bytes (--max-body)`)));
      req.on('error', reject);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
      if (size > max * 8) req.destroy();
    });
    req.on('end', () => {
      if (over) reject(new HttpError(413, `the request body is over the limit of ${max} bytes (--max-body)`));
      else resolveBody(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

function v2Shape(shape: unknown[] | undefined): number[] {
  return (shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}

function modelMetadata(ep: Endpoint, target?: Target) {
  const t = target ?? ep.targets[0];
  const sig = t.runner.signature;
  return {
    name: ep.name,
    versions: (target ? [target] : ep.targets).map((x) => x.versionText),
    platform: 'onnxruntime_onnx',
    inputs: sig.inputs.map((i) => ({ name: i.name, datatype: V2_TYPES[i.type] ?? i.type.toUpperCase(), shape: v2Shape(i.shape) })),
    outputs: sig.outputs.map((o) => ({ name: o.name, datatype: V2_TYPES[o.type] ?? o.type.toUpperCase(), shape: v2Shape(o.shape) })),
  };
}

function encodeV2(target: Target, outputs: Outputs, wanted: string[] | undefined, id: string | undefined): string {
  let s = `{"model_name":${JSON.stringify(target.name)},"model_version":"${target.versionText}"`;
  if (id !== undefined) s += `,"id":${JSON.stringify(id)}`;
  s += ',"outputs":[';
  let first = true;
  for (const name of wanted ?? Object.keys(outputs)) {
    const t = outputs[name];
    s += `${first ? '' : ','}{"name":${JSON.stringify(name)},"datatype":"${V2_TYPES[t.type] ?? t.type.toUpperCase()}","shape":[${t.dims.join(',')}],"data":${encodeFlat(t.type, t.data as ArrayLike<unknown>)}}`;
    first = false;
  }
  return `${s}]}`;
}

function encodeInvocations(target: Target, outputs: Outputs): string {
  const names = target.runner.signature.outputs.map((o) => o.name);
  if (names.length === 1) {
    const t = outputs[names[0]];
    return `{"predictions":${encodeNested(t.type, t.data as ArrayLike<unknown>, t.dims)}}`;
  }
  let s = '{"predictions":{';
  names.forEach((n, i) => {
    const t = outputs[n];
    s += `${i ? ',' : ''}${JSON.stringify(n)}:${encodeNested(t.type, t.data as ArrayLike<unknown>, t.dims)}`;
  });
  return `${s}}}`;
}

function openLog(file: string): WriteStream {
  const stream = createWriteStream(file, { flags: 'a' });
  stream.on('error', () => {
    // A full disk must not take the server down; the log is a sample anyway.
  });
  return stream;
}

/**
 * One JSON line per sampled request (docs/models.md#serve-log): each input and output as nested arrays,
 * first dimension first, so element i of every array is row i of the request (what `mlo monitor`
 * reads). A failed request has empty inputs and outputs.
 */
function writeLog(
  log: WriteStream,
  { target, status, ms, feeds, outputs }: { target: Target; status: number; ms: number; feeds?: Feeds; outputs?: Outputs },
): void {
  const nested = (m: Record<string, TensorValue> | undefined) => {
    const out: Record<string, unknown> = {};
    if (m) for (const [k, t] of Object.entries(m)) out[k] = toNested(t.type, t.data as ArrayLike<unknown>, t.dims);
    return out;
  };
  const ok = feeds !== undefined && outputs !== undefined;
  const line = {
    ts: new Date().toISOString(),
    model: target.name,
    version: target.version,
    status,
    latency_ms: Math.round(ms * 1000) / 1000,
    inputs: ok ? nested(feeds) : {},
    outputs: ok ? nested(outputs) : {},
  };
  log.write(`${JSON.stringify(line)}\n`);
}
