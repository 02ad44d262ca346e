/**
 * MLflow's scoring protocol: `POST /invocations` with a JSON body in any of its four payload formats
 * (`inputs`, `instances`, `dataframe_split`, `dataframe_records`) or a `text/csv` body (header row, then
 * rows), answered as `{"predictions": ...}`. Named columns map through the model's feature contract.
 * With several models served, `?model=NAME` (or an `x-mlo-model` header) picks one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeInvocations, encodeNested, parseJson } from '../model/codec.js';
import { decodeCsv } from '../model/csv-body.js';
import type { ServeContext } from './context.js';
import { echoed, pickTarget, servedNames, type Endpoint } from './endpoints.js';
import { queryParam } from './http.js';
import { inference, type Protocol } from './inference.js';

export const INVOCATIONS = '/invocations';

const mlflow: Protocol = {
  decode: (signature, json) => ({ feeds: decodeInvocations(signature, json) }),
  // Any other content type is read as JSON, as before: curl -d sends form-urlencoded by default.
  decodeBody: (signature, body, contentType) =>
    isCsv(contentType) ? { feeds: decodeCsv(signature, body) } : { feeds: decodeInvocations(signature, parseJson(body)) },
  encode: (target, outputs) => {
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
  },
  errorBody: (status, message) => JSON.stringify({ error_code: status === 400 || status === 413 ? 'BAD_REQUEST' : 'INTERNAL_ERROR', message }),
};

export function invocationsRoute(ctx: ServeContext): (req: IncomingMessage, res: ServerResponse) => void {
  const { endpoints, send } = ctx;
  const infer = inference(ctx, mlflow);
  return (req, res) => {
    if (req.method !== 'POST') return send(res, 405, JSON.stringify({ error_code: 'BAD_REQUEST', message: 'use POST' }), ['allow', 'POST']);
    let ep: Endpoint | undefined;
    const wanted = queryParam(req, 'model') ?? (req.headers['x-mlo-model'] as string | undefined);
    if (wanted) ep = endpoints.get(wanted);
    else if (endpoints.size === 1) ep = endpoints.values().next().value;
    if (!ep) {
      req.resume();
      return send(
        res,
        wanted ? 404 : 400,
        JSON.stringify({
          error_code: wanted ? 'RESOURCE_DOES_NOT_EXIST' : 'BAD_REQUEST',
          message: wanted
            ? `no model named '${echoed(wanted)}' is served here; serving ${servedNames(endpoints)}`
            : `several models are served (${servedNames(endpoints)}): add ?model=NAME`,
        }),
      );
    }
    void infer(req, res, pickTarget(ep));
  };
}

function isCsv(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*text\/csv\s*(;|$)/i.test(contentType);
}
