/**
 * Listening and graceful draining: the HTTP server, a count of the requests in flight, and a close
 * that stops accepting, lets in-flight requests finish (up to 30 s) and then drops the connections.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MloError } from '../../base/errors.js';

/**
 * What the routes read of the server's state: `closing` turns true when draining begins (readiness
 * answers false, responses ask clients to close); `active` counts requests in flight. Only `listen`
 * changes it.
 */
export interface Gate {
  closing: boolean;
  active: number;
}

export function createGate(): Gate {
  return { closing: false, active: 0 };
}

export interface Listening {
  /** The address as a URL host (IPv6 in brackets). */
  url: string;
  host: string;
  port: number;
  /** Stops accepting connections and resolves once in-flight requests finished or 30 s passed. */
  drain(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export async function listen(handle: Handler, options: { host?: string; port?: number; gate: Gate; maxConnections?: number }): Promise<Listening> {
  const { gate } = options;
  let drained: (() => void) | undefined;
  const finish = () => {
    if (--gate.active === 0 && drained) drained();
  };
  const server: Server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 60_000 }, (req, res) => {
    gate.active++;
    res.on('close', finish);
    handle(req, res);
  });
  // Idle keep-alive sockets count too: a client holding thousands open must not exhaust descriptors.
  server.maxConnections = options.maxConnections ?? 1024;
  // Small responses: send them now rather than waiting to coalesce with later writes.
  server.on('connection', (socket) => socket.setNoDelay(true));
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new MloError('MLO_PORT_IN_USE', `port ${options.port} on ${options.host ?? '127.0.0.1'} is already in use`, {
              hint: 'stop the other server or choose another --port (0 picks a free one)',
            })
          : err,
      );
    });
    server.listen(options.port ?? 8080, options.host ?? '127.0.0.1', () => resolveListen());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    host: address.address,
    port: address.port,
    async drain() {
      gate.closing = true;
      const stopped = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      if (gate.active > 0) {
        await Promise.race([new Promise<void>((r) => (drained = r)), new Promise((r) => setTimeout(r, 30_000).unref())]);
      }
      server.closeAllConnections();
      await stopped;
    },
  };
}
