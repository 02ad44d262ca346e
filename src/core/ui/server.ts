/**
 * `mlo ui`: the web page and its JSON API over one repository, read-only. Binds 127.0.0.1 unless told
 * otherwise; anywhere else it needs a bearer token (the page passes it on as it was opened with
 * ?token=...). Every answer is a GET: other methods get 405, so nothing a page or a link sends can
 * change the repository.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MloError, isMloError } from '../../base/errors.js';
import { bearerAuth } from '../serve/auth.js';
import { HttpError, requestPath } from '../serve/http.js';
import { createGate, listen } from '../serve/lifecycle.js';
import type { Repo } from '../repo/repo.js';
import { ROUTES, type UiContext } from './api.js';
import { assetFor } from './assets.js';
import { Query } from './query.js';

export interface UiOptions {
  repo: Repo;
  host?: string;
  port?: number;
  token?: string;
  onEvent?: (message: string) => void;
}

export interface UiServer {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Errors a request can cause by naming something that is not there, or not valid. */
const NOT_FOUND = new Set([
  'MLO_NOT_FOUND',
  'MLO_NO_REQUESTS',
  'MLO_NO_REMOTE',
  'MLO_UNKNOWN_REMOTE',
  'MLO_UNKNOWN_RUN',
  'MLO_UNKNOWN_REV',
  'MLO_UNKNOWN_MODEL',
  'MLO_UNKNOWN_VERSION',
  'MLO_UNKNOWN_ALIAS',
]);
const BAD_REQUEST = new Set(['MLO_AMBIGUOUS_RUN', 'MLO_UNKNOWN_METRIC', 'MLO_BAD_REF', 'MLO_BAD_NAME', 'MLO_BAD_ALIAS']);

function statusOf(err: MloError): number {
  if (NOT_FOUND.has(err.code)) return 404;
  if (BAD_REQUEST.has(err.code)) return 400;
  return 500;
}

const SECURITY_HEADERS = [
  // The page loads only what this server serves: no CDN, no inline script, nothing framed.
  'content-security-policy',
  "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options',
  'nosniff',
  'referrer-policy',
  'no-referrer',
];

function send(res: ServerResponse, status: number, body: string | Buffer, type = 'application/json'): void {
  res.writeHead(status, ['content-type', type, 'content-length', String(Buffer.byteLength(body)), 'cache-control', 'no-store', ...SECURITY_HEADERS]);
  res.end(body);
}

function sendError(res: ServerResponse, status: number, code: string, message: string, hint?: string): void {
  send(res, status, JSON.stringify({ error: hint === undefined ? { code, message } : { code, message, hint } }));
}

/**
 * With a token, the page itself is served without one (a browser cannot add a header to the address
 * it opens) but every API call must carry it, as `Authorization: Bearer` or `?token=`.
 */
function tokenCheck(token: string | undefined): (req: IncomingMessage) => boolean {
  const header = bearerAuth(token);
  if (token === undefined) return header;
  return (req) => {
    if (header(req)) return true;
    const q = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('token');
    return q !== null && header({ headers: { authorization: `Bearer ${q}` } } as IncomingMessage);
  };
}

/**
 * Whether the request names this server by a loopback name and the port it listens on. Without a
 * token, that is all that stands between the API and a web page: DNS rebinding points `evil.example`
 * at 127.0.0.1, and the browser then sends `Host: evil.example:PORT` with the page's own origin.
 */
function loopbackHost(req: IncomingMessage): boolean {
  const m = /^(127\.0\.0\.1|localhost|\[::1\])(?::(\d{1,5}))?$/i.exec(req.headers.host ?? '');
  return m !== null && Number(m[2] ?? 80) === req.socket.localPort;
}

export function handler(ctx: UiContext, token: string | undefined, onEvent?: (m: string) => void): (req: IncomingMessage, res: ServerResponse) => void {
  const authorized = tokenCheck(token);
  return (req, res) => {
    const path = requestPath(req);
    if (token === undefined && !loopbackHost(req)) {
      sendError(
        res,
        403,
        'MLO_BAD_HOST',
        `Host '${(req.headers.host ?? '').slice(0, 100)}' is not this server's loopback address`,
        'open the page as http://127.0.0.1:PORT/ (or start mlo ui with --token)',
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'MLO_USAGE', `${req.method} is not allowed: mlo ui is read-only (GET only)`);
      return;
    }
    const route = ROUTES[path];
    if (!route) {
      let asset: ReturnType<typeof assetFor>;
      try {
        asset = path.startsWith('/api/') ? undefined : assetFor(path);
      } catch (err) {
        // dist/web/ missing (a build without esbuild): say so instead of dropping the connection.
        if (!isMloError(err)) throw err;
        sendError(res, 500, err.code, err.message, err.hint);
        return;
      }
      if (asset) send(res, 200, asset.body, asset.type);
      else sendError(res, 404, 'MLO_NOT_FOUND', `no such page or API route: ${path.slice(0, 200)}`, 'the API routes are listed in docs/ui.md');
      return;
    }
    if (!authorized(req)) {
      sendError(res, 401, 'MLO_UNAUTHORIZED', 'this API needs the token mlo ui was started with', 'open the page as http://HOST:PORT/?token=TOKEN');
      return;
    }
    void (async () => {
      try {
        const body = await route(ctx, new Query(req.url ?? '/'));
        send(res, 200, body);
      } catch (err) {
        if (err instanceof HttpError) sendError(res, err.status, 'MLO_BAD_QUERY', err.message);
        else if (isMloError(err)) sendError(res, statusOf(err), err.code, err.message, err.hint);
        else {
          onEvent?.(`error: ${path}: ${(err as Error).stack ?? err}`);
          sendError(res, 500, 'MLO_INTERNAL', `${path}: ${(err as Error).message}`);
        }
      }
    })();
  };
}

export async function startUi(options: UiOptions): Promise<UiServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host) && !options.token) {
    throw new MloError('MLO_USAGE', `--host ${host} is not a loopback address: anyone who can reach it could read this repository's runs`, {
      hint: 'give --token <secret> (or MLO_UI_TOKEN), or keep the default --host 127.0.0.1',
    });
  }
  const gate = createGate();
  const listening = await listen(handler({ repo: options.repo }, options.token, options.onEvent), { host, port: options.port ?? 5000, gate });
  return {
    url: listening.url,
    host: listening.host,
    port: listening.port,
    close: async () => {
      gate.closing = true;
      await listening.drain();
    },
  };
}
