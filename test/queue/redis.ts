/**
 * A redis-server of the test's own on a free loopback port (`$MLO_TEST_REDIS_SERVER`, else the one on
 * PATH), and why the queue suite cannot run here when it cannot: no redis-server, or no ioredis (the
 * Redis client BullMQ needs, an optional peer dependency).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers.js';

export const REDIS_SERVER = process.env.MLO_TEST_REDIS_SERVER || 'redis-server';

/** Why the Redis-backed tests are skipped, or undefined when they can run. */
export function redisSkipReason(): string | undefined {
  const probe = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  if (probe.error) return `${REDIS_SERVER} is not on PATH (install redis-server, or set MLO_TEST_REDIS_SERVER)`;
  try {
    createRequire(join(ROOT, 'package.json')).resolve('ioredis');
  } catch {
    return 'ioredis (the Redis client BullMQ needs) is not installed';
  }
  return undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  /** Stops it (SIGTERM: with `persistent`, the data is written to disk first). */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder. */
  start(): Promise<void>;
}

/** Starts redis-server; `persistent` keeps the data across stop()/start() (append-only file). */
export async function startRedis(options: { persistent?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = tempDir('mlo-redis-');
  let child: ChildProcess | undefined;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', options.persistent ? 'yes' : 'no'];
  const start = async () => {
    const c = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      c.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/Ready to accept connections/.test(out)) resolve();
      });
      c.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
    });
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}/0`, stop, start };
}
