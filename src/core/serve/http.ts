/**
 * Request and response helpers every route of `mlo serve` shares. They work on node:http's objects
 * directly (no URL object, header arrays instead of objects): the request path is the benchmark.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export const JSON_TYPE = 'application/json';

/** A failure the client caused, answered with its own status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Answers with a JSON body. `extra` is a flat header array (name, value, ...); positional rather than
 * an options object because it runs once per request.
 */
export type Send = (res: ServerResponse, status: number, body: string, extra?: string[]) => void;

/** A `Send` for one server: while it drains (`closing`), every response asks the client to close. */
export function jsonSender(state: { readonly closing: boolean }): Send {
  return (res, status, body, extra) => {
    const headers = ['content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(body))];
    if (extra) for (let i = 0; i < extra.length; i++) headers.push(extra[i]);
    if (state.closing) headers.push('connection', 'close');
    res.writeHead(status, headers);
    res.end(body);
  };
}

/** The request's path, without its query string. */
export function requestPath(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** One query-string parameter of the request, or null. */
export function queryParam(req: IncomingMessage, name: string): string | null {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? null : new URLSearchParams(url.slice(q + 1)).get(name);
}

/** A path segment, percent-decoded when it is valid and left as it came when it is not. */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The body as text, or an HttpError 413 once it passes `max` bytes. */
export function readBody(req: IncomingMessage, max: number): Promise<string> {
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
