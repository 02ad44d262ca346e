/**
 * The routing table of `mlo serve`, in order: health (open to all, for load balancers), then bearer
 * auth, then metrics and the two protocols. Paths are compared as strings, without a URL object.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServeContext } from './context.js';
import { echoed } from './endpoints.js';
import { requestPath } from './http.js';
import type { Handler } from './lifecycle.js';
import { INVOCATIONS, invocationsRoute } from './mlflow.js';
import { MODELS_PREFIX, SERVER_METADATA, v2ModelRoutes } from './v2.js';

const PROMETHEUS_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function router(ctx: ServeContext, authorized: (req: IncomingMessage) => boolean): Handler {
  const { send, gate, metrics } = ctx;
  const models = v2ModelRoutes(ctx);
  const invocations = invocationsRoute(ctx);

  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const path = requestPath(req);
    if (path === '/v2/health/live' || path === '/ping' || path === '/health') {
      return send(res, 200, '{"live":true}');
    }
    if (path === '/v2/health/ready') {
      return send(res, gate.closing ? 503 : 200, gate.closing ? '{"ready":false}' : '{"ready":true}');
    }
    if (!authorized(req)) {
      req.resume();
      return send(res, 401, '{"error":"missing or wrong bearer token"}', ['www-authenticate', 'Bearer']);
    }
    if (path === '/metrics') {
      // Requests in flight are counted once, by the gate (lifecycle.ts, for draining); the gauge reads it.
      metrics.inflight = gate.active;
      const body = metrics.render();
      res.writeHead(200, ['content-type', PROMETHEUS_TYPE, 'content-length', String(Buffer.byteLength(body))]);
      res.end(body);
      return;
    }
    if (path === '/v2' || path === '/v2/') return send(res, 200, SERVER_METADATA);
    if (path === INVOCATIONS) return invocations(req, res);
    if (path.startsWith(MODELS_PREFIX) && models(req, res, path)) return;
    req.resume();
    send(res, 404, JSON.stringify({ error: `no route for ${echoed(req.method ?? '')} ${echoed(path)}` }));
  };

  return (req, res) => {
    try {
      route(req, res);
    } catch (err) {
      // A bug in routing must cost one request, not the server.
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: `internal error: ${(err as Error).message}` }));
      else res.destroy();
    }
  };
}
