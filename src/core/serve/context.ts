/** What the routes of one server share. */
import type { Endpoint } from './endpoints.js';
import type { Send } from './http.js';
import type { Gate } from './lifecycle.js';
import type { ServerMetrics } from './metrics.js';
import type { RequestLog } from './request-log.js';

export interface ServeContext {
  endpoints: Map<string, Endpoint>;
  metrics: ServerMetrics;
  gate: Gate;
  send: Send;
  /** Largest request body accepted, in bytes (--max-body). */
  maxBody: number;
  log?: RequestLog;
}
