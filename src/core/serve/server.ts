/**
 * `mlo serve`: an HTTP server (node:http) over onnxruntime-node speaking the Open Inference Protocol v2
 * (v2.ts) and MLflow's `/invocations` scoring format (mlflow.ts). Several models per server, micro-batching
 * of concurrent requests (runner.ts), weighted traffic splits between versions (endpoints.ts), Prometheus
 * metrics, optional bearer auth (auth.ts), sampled request logs (request-log.ts), reload when a served
 * alias moves (reload.ts), and a graceful close (lifecycle.ts). This module puts them together.
 *
 * The request path is kept lean on purpose (it is the benchmark): no URL object, one JSON.parse, typed
 * arrays straight into ort tensors, responses encoded into one string, header arrays instead of objects.
 */
import type { Tolerance } from '../model/verify.js';
import type { Repo } from '../repo/repo.js';
import { bearerAuth } from './auth.js';
import { describeServed, loadEndpoints, releaseEndpoints, resolveEndpointSources, targetLoader, type ServedModel } from './endpoints.js';
import { jsonSender } from './http.js';
import { createGate, listen } from './lifecycle.js';
import { ServerMetrics } from './metrics.js';
import { watchMovingRefs } from './reload.js';
import { openRequestLog } from './request-log.js';
import { router } from './routes.js';

export type { ServedModel } from './endpoints.js';

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
  /** Most open connections (default 1024); node closes any beyond it as it arrives. */
  maxConnections?: number;
  log?: { file: string; sample: number };
  /** Watch registry aliases and reload when they move (default true). */
  watch?: boolean;
  /** Seconds between checks of watched alias files (default 0.5). */
  watchInterval?: number;
  /** Check each model against its recorded example before serving (default: default tolerances); false skips. */
  verify?: false | Partial<Tolerance>;
  /** Server events for the operator (reloads, failures). */
  onEvent?: (message: string) => void;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  models: ServedModel[];
  /** Stops accepting connections, finishes in-flight requests, releases the sessions. */
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const metrics = new ServerMetrics();
  const load = targetLoader({ maxBatch: options.maxBatch, metrics, verify: options.verify });
  const sources = await resolveEndpointSources(options);
  const endpoints = await loadEndpoints(sources, load);
  const gate = createGate();

  const stopWatching =
    options.repo && options.watch !== false
      ? watchMovingRefs({
          repo: options.repo,
          sources,
          endpoints,
          load,
          interval: options.watchInterval ?? 0.5,
          state: gate,
          event: options.onEvent ?? (() => {}),
        })
      : () => {};

  const log = options.log ? openRequestLog(options.log) : undefined;
  const ctx = { endpoints, metrics, gate, send: jsonSender(gate), maxBody: options.maxBody ?? DEFAULT_MAX_BODY, log };
  const listening = await listen(router(ctx, bearerAuth(options.token)), {
    host: options.host,
    port: options.port,
    gate,
    maxConnections: options.maxConnections,
  });

  let closed: Promise<void> | undefined;
  return {
    url: listening.url,
    host: listening.host,
    port: listening.port,
    models: describeServed(endpoints),
    close() {
      closed ??= (async () => {
        stopWatching();
        await listening.drain();
        await releaseEndpoints(endpoints);
        if (log) await log.close();
      })();
      return closed;
    },
  };
}
