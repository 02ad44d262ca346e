/**
 * A small HTTP proxy between mlo and an S3 server that misbehaves on purpose: it resets connections
 * (before the request, or half-way through an upload or a download), answers 500 InternalError and
 * 503 SlowDown, and stalls (no answer at all, or half a body and then nothing). Headers are passed
 * through untouched, so SigV4 signatures (which cover the Host header) still verify upstream.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | 'pass'
  /** Close the connection before reading the request. */
  | 'reset'
  /** Forward half of an upload's body upstream, then cut both connections. */
  | 'reset-upload'
  /** Send the response headers and half the body, then cut the connection. */
  | 'reset-download'
  | '500'
  | '503'
  /** Never answer. */
  | 'stall'
  /** Send the headers and half the body, then nothing. */
  | 'stall-download';

export interface FaultyProxy {
  url: string;
  /** How many requests saw each fault. */
  counts: Record<Fault, number>;
  /** Changes the schedule on the fly. */
  setSchedule(schedule: (n: number, req: IncomingMessage) => Fault): void;
  stop(): Promise<void>;
}

const xmlError = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>faulty-proxy</RequestId></Error>`;

export async function startFaultyProxy(target: string, schedule: (n: number, req: IncomingMessage) => Fault): Promise<FaultyProxy> {
  const upstream = new URL(target);
  const counts = { pass: 0, reset: 0, 'reset-upload': 0, 'reset-download': 0, '500': 0, '503': 0, stall: 0, 'stall-download': 0 } as Record<Fault, number>;
  const sockets = new Set<Socket>();
  let n = 0;
  let plan = schedule;

  const forward = (req: IncomingMessage, onResponse: (res: IncomingMessage) => void, bodyLimit?: number) => {
    const up = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, onResponse);
    up.on('error', () => req.socket.destroy());
    if (bodyLimit === undefined) {
      req.pipe(up);
      return up;
    }
    let sent = 0;
    req.on('data', (chunk: Buffer) => {
      if (sent >= bodyLimit) return;
      const part = chunk.subarray(0, bodyLimit - sent);
      sent += part.length;
      up.write(part);
      if (sent >= bodyLimit) {
        up.destroy();
        req.socket.destroy();
      }
    });
    return up;
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const fault = plan(n++, req);
    counts[fault]++;
    switch (fault) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'reset-upload': {
        const length = Number(req.headers['content-length'] ?? 0);
        if (length < 2) {
          req.socket.destroy();
          return;
        }
        forward(req, () => {}, Math.floor(length / 2));
        return;
      }
      case '500':
      case '503': {
        // Drain the request first, as a server would, so the client sees the answer, not a reset.
        req.resume();
        req.on('end', () => {
          const body =
            fault === '500'
              ? xmlError('InternalError', 'We encountered an internal error. Please try again.')
              : xmlError('SlowDown', 'Please reduce your request rate.');
          res.writeHead(Number(fault), { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
          res.end(body);
        });
        return;
      }
      case 'stall':
        req.resume();
        return;
      case 'reset-download':
      case 'stall-download':
        forward(req, (up) => {
          const length = Number(up.headers['content-length'] ?? 0);
          res.writeHead(up.statusCode ?? 502, up.rawHeaders.length ? rawToObject(up.rawHeaders) : up.headers);
          let sent = 0;
          const half = Math.floor(length / 2);
          up.on('data', (chunk: Buffer) => {
            if (sent >= half) return;
            const part = chunk.subarray(0, half - sent);
            sent += part.length;
            res.write(part);
            if (sent >= half) {
              up.destroy();
              if (fault === 'reset-download') res.socket?.destroy();
            }
          });
          up.on('end', () => {
            // Shorter than two chunks: cut it anyway, never complete it.
            if (fault === 'reset-download') res.socket?.destroy();
          });
        });
        return;
      case 'pass':
        forward(req, (up) => {
          res.writeHead(up.statusCode ?? 502, rawToObject(up.rawHeaders));
          up.pipe(res);
        });
        return;
    }
  };

  const server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    setSchedule: (s) => {
      plan = s;
    },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function rawToObject(raw: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i];
    const v = raw[i + 1];
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}
