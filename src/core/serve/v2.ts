/**
 * The Open Inference Protocol v2 (KServe, Triton): server metadata, per-model metadata and readiness,
 * and `POST /v2/models/{name}[/versions/{v}]/infer`. Health routes are in routes.ts: they answer
 * before auth.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { V2_TYPES, decodeV2, encodeFlat } from '../model/codec.js';
import type { ServeContext } from './context.js';
import { echoed, pickTarget, servedNames, type Endpoint, type Target } from './endpoints.js';
import { safeDecode } from './http.js';
import { inference, type Protocol } from './inference.js';

export const MODELS_PREFIX = '/v2/models/';

/** `GET /v2`. */
export const SERVER_METADATA = JSON.stringify({ name: 'mlo', version: '1', extensions: [] });

const v2: Protocol = {
  decode: decodeV2,
  encode: (target, outputs, request) => {
    let s = `{"model_name":${JSON.stringify(target.name)},"model_version":"${target.versionText}"`;
    if (request.id !== undefined) s += `,"id":${JSON.stringify(request.id)}`;
    s += ',"outputs":[';
    let first = true;
    for (const name of request.outputs ?? Object.keys(outputs)) {
      const t = outputs[name];
      s += `${first ? '' : ','}{"name":${JSON.stringify(name)},"datatype":"${V2_TYPES[t.type] ?? t.type.toUpperCase()}","shape":[${t.dims.join(',')}],"data":${encodeFlat(t.type, t.data as ArrayLike<unknown>)}}`;
      first = false;
    }
    return `${s}]}`;
  },
  errorBody: (_status, message) => JSON.stringify({ error: message }),
};

/**
 * Routes a path under MODELS_PREFIX; returns false when no route matches (the caller answers 404).
 */
export function v2ModelRoutes(ctx: ServeContext): (req: IncomingMessage, res: ServerResponse, path: string) => boolean {
  const { endpoints, send, gate } = ctx;
  const infer = inference(ctx, v2);
  return (req, res, path) => {
    const method = req.method;
    const parts = path.slice(MODELS_PREFIX.length).split('/').map(safeDecode);
    const ep = endpoints.get(parts[0]);
    let rest = parts.slice(1);
    let version: string | undefined;
    if (rest[0] === 'versions' && rest.length >= 2) {
      version = rest[1];
      rest = rest.slice(2);
    }
    if (!ep) {
      req.resume();
      send(res, 404, JSON.stringify({ error: `no model named '${echoed(parts[0])}' is served here; serving ${servedNames(endpoints)}` }));
      return true;
    }
    const target = version === undefined ? undefined : ep.targets.find((t) => t.versionText === version);
    if (version !== undefined && !target) {
      req.resume();
      send(
        res,
        404,
        JSON.stringify({
          error: `model '${ep.name}' version ${echoed(version)} is not served here; serving versions ${ep.targets.map((t) => t.versionText).join(', ')}`,
        }),
      );
      return true;
    }
    const action = rest.join('/');
    if (action === '' && method === 'GET') {
      send(res, 200, JSON.stringify(modelMetadata(ep, target)));
      return true;
    }
    if (action === 'ready' && method === 'GET') {
      send(res, 200, JSON.stringify({ name: ep.name, ready: !gate.closing }));
      return true;
    }
    if (action === 'infer') {
      if (method !== 'POST') send(res, 405, '{"error":"use POST"}', ['allow', 'POST']);
      else void infer(req, res, target ?? pickTarget(ep));
      return true;
    }
    return false;
  };
}

/** A version's inputs and outputs with v2 datatypes; without a version, those of the first. */
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

/** v2 writes a free dimension as -1. */
function v2Shape(shape: unknown[] | undefined): number[] {
  return (shape ?? []).map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
}
