/**
 * One inference request, whatever its protocol: read the body, decode it against the target's
 * signature, run it through the target's micro-batcher, encode the answer; then count it and maybe log
 * it. The protocols (v2.ts, mlflow.ts) differ only in how they decode, encode and word an error.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJson, type Feeds, type Signature } from '../model/codec.js';
import { InputError } from '../model/runtime.js';
import type { ServeContext } from './context.js';
import type { Target } from './endpoints.js';
import { HttpError, readBody } from './http.js';
import { RunError, type Outputs } from './runner.js';

export interface DecodedRequest {
  feeds: Feeds;
  /** Outputs asked for, in order (default: all). */
  outputs?: string[];
  id?: string;
}

export interface Protocol {
  decode(signature: Signature, json: unknown): DecodedRequest;
  /** Decodes the raw body instead of `decode`, for a protocol that also takes non-JSON bodies (MLflow's text/csv). */
  decodeBody?(signature: Signature, body: string, contentType: string | undefined): DecodedRequest;
  encode(target: Target, outputs: Outputs, request: DecodedRequest): string;
  /** The body of an error answer, in the protocol's own shape. */
  errorBody(status: number, message: string): string;
}

/** Answers one request with `target`. */
export type Infer = (req: IncomingMessage, res: ServerResponse, target: Target) => Promise<void>;

export function inference(ctx: ServeContext, protocol: Protocol): Infer {
  const { send, metrics, maxBody } = ctx;
  return async (req, res, target) => {
    const started = performance.now();
    const versionHeaders = target.headers;
    let status = 200;
    let feeds: Feeds | undefined;
    let outputs: Outputs | undefined;
    try {
      const body = await readBody(req, maxBody);
      const sig = target.runner.signature;
      const request = protocol.decodeBody ? protocol.decodeBody(sig, body, req.headers['content-type']) : protocol.decode(sig, parseJson(body));
      feeds = request.feeds;
      outputs = await target.runner.infer(feeds);
      send(res, 200, protocol.encode(target, outputs, request), versionHeaders);
    } catch (err) {
      const { code, message } = classify(err);
      status = code;
      send(res, code, protocol.errorBody(code, message), code === 413 ? [...versionHeaders, 'connection', 'close'] : versionHeaders);
    }
    const ms = performance.now() - started;
    metrics.request(target.name, target.versionText, status, ms / 1000);
    const log = ctx.log;
    if (log?.sampled()) log.write({ target, status, ms, feeds: status === 200 ? feeds : undefined, outputs });
  };
}

/** The longest error message an answer carries: messages echo request parts (names, shapes, values). */
export const MAX_ERROR_MESSAGE = 500;

function classify(err: unknown): { code: number; message: string } {
  const { code, message } = describe(err);
  return { code, message: message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE)}... (cut)` : message };
}

function describe(err: unknown): { code: number; message: string } {
  if (err instanceof HttpError) return { code: err.status, message: err.message };
  if (err instanceof InputError) return { code: 400, message: err.message };
  if (err instanceof RunError) return { code: 500, message: `the model failed to run: ${err.message}` };
  return { code: 500, message: `internal error: ${(err as Error)?.message ?? String(err)}` };
}
