/**
 * The shared queue's broker: Redis, driven by BullMQ. Settings come from `queue.*` in the config, the
 * broker URL from `$MLO_QUEUE_BROKER` first (so a password never needs a file); connecting checks the
 * broker once and turns "cannot connect" into one error naming the URL (BullMQ would retry forever).
 *
 * BullMQ talks to Redis through ioredis, an optional peer dependency it does not install. It is loaded
 * by name at run time, so a repository without a broker never needs it and one with a broker gets one
 * clear error when it is missing.
 */
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import type { Queue } from 'bullmq';
import { MloError } from '../../base/errors.js';
import type { Repo } from '../repo/repo.js';
import { redactUrl } from '../../storage/remote.js';

export interface BrokerSettings {
  /** redis://[user:password@]host:port/db, as given (print it with redactUrl). */
  url: string;
  /** The BullMQ queue name. */
  queue: string;
  /** Runs of a job before it counts as failed. */
  attempts: number;
  /** A worker's lock on its job; a dead worker's job returns to the queue once it lapses. */
  lockMs: number;
  /** How often workers look for jobs whose lock lapsed. */
  stalledMs: number;
}

export const DEFAULT_QUEUE = 'mlo';
const DEFAULTS = { attempts: 3, lockMs: 30_000, stalledMs: 30_000 };

/** The broker settings, or undefined when no broker is configured (the local queue is used). */
export function brokerSettings(repo: Repo): BrokerSettings | undefined {
  const q = repo.config.queue;
  const url = process.env.MLO_QUEUE_BROKER || q.broker;
  if (!url) return undefined;
  return {
    url,
    queue: q.name ?? DEFAULT_QUEUE,
    attempts: q.attempts ?? DEFAULTS.attempts,
    lockMs: envMs('MLO_QUEUE_LOCK_MS') ?? q.lock_ms ?? DEFAULTS.lockMs,
    stalledMs: envMs('MLO_QUEUE_STALLED_MS') ?? q.stalled_ms ?? DEFAULTS.stalledMs,
  };
}

/** As brokerSettings, for commands that make no sense without a broker. */
export function requireBroker(repo: Repo, command: string): BrokerSettings {
  const s = brokerSettings(repo);
  if (s) return s;
  throw new MloError('MLO_NO_BROKER', `${command} needs a queue broker, and queue.broker is not set`, {
    hint: 'set it with queue.broker: redis://HOST:6379/0 in .mlo/config.yaml (a password only in .mlo/config.local.yaml), or $MLO_QUEUE_BROKER',
  });
}

function envMs(name: string): number | undefined {
  const v = Number(process.env[name]);
  return process.env[name] && Number.isInteger(v) && v >= 100 ? v : undefined;
}

interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: Record<string, never>;
}

/** The connection a broker URL names; a URL that is not redis:// or rediss:// is a config error. */
export function parseBrokerUrl(url: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badUrl(url, 'not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw badUrl(url, `the scheme is ${u.protocol.replace(/:$/, '')}, not redis or rediss`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d{1,2}$/.test(db)) throw badUrl(url, `'${db}' is not a database number`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    db: db === '' ? 0 : Number(db),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

function badUrl(url: string, why: string): MloError {
  return new MloError('MLO_BAD_CONFIG', `queue.broker '${redactUrl(url)}': ${why}`, { hint: 'use redis://HOST:PORT/DB (rediss:// for TLS)' });
}

/** The little of ioredis used here: BullMQ drives the rest. */
interface RedisClient {
  connect(): Promise<void>;
  ping(): Promise<string>;
  set(key: string, value: string, ex: 'EX', seconds: number): Promise<unknown>;
  exists(...keys: string[]): Promise<number>;
  del(...keys: string[]): Promise<number>;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}
type RedisCtor = new (options: Record<string, unknown>) => RedisClient;

// A variable, not a literal: the bundler would otherwise try to inline a package that may be absent.
const IOREDIS = 'ioredis';

function loadRedis(): RedisCtor {
  try {
    const mod = createRequire(import.meta.url)(IOREDIS) as RedisCtor & { default?: RedisCtor };
    return mod.default ?? mod;
  } catch {
    throw new MloError('MLO_QUEUE_CLIENT_MISSING', 'the queue broker needs the Redis client ioredis, which is not installed', {
      hint: 'install it beside mlo (npm install ioredis; BullMQ lists it as an optional peer dependency)',
    });
  }
}

/** An open connection to the broker and the queue on it. */
export interface Broker {
  settings: BrokerSettings;
  queue: Queue;
  /** The raw client, for mlo's own keys (cancel requests). */
  client: RedisClient;
  /** A new connection (BullMQ workers need their own: they block on it). */
  connect(): RedisClient;
  close(): Promise<void>;
}

/** The key a cancel request for `run` is kept under (read by the worker running it). */
export function cancelKey(settings: BrokerSettings, run: string): string {
  return `mlo:${settings.queue}:cancel:${run}`;
}

/** The name a worker process is known by in `queue status`. */
export function workerName(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * Connects (checking the broker answers), then opens the queue. `reconnect` keeps retrying through
 * a broker restart (workers); without it a lost broker fails the command at once.
 */
export async function openBroker(settings: BrokerSettings, options: { reconnect?: boolean } = {}): Promise<Broker> {
  const target = parseBrokerUrl(settings.url);
  const Redis = loadRedis();
  const base = { ...target, connectTimeout: 5000, lazyConnect: true };
  await probe(Redis, base, settings.url);
  const make = (): RedisClient => {
    const c = new Redis({
      ...base,
      lazyConnect: false,
      // BullMQ's blocking commands must wait as long as the broker is away, not fail after N retries.
      maxRetriesPerRequest: options.reconnect ? null : 1,
      enableOfflineQueue: true,
      retryStrategy: options.reconnect ? (times: number) => Math.min(250 * times, 2000) : () => null,
    });
    // Reported through the queue's and worker's own 'error' events; unheard here it would be logged twice.
    c.on('error', () => undefined);
    return c;
  };
  const client = make();
  const { Queue } = await import('bullmq');
  const queue = new Queue(settings.queue, { connection: client as never });
  queue.on('error', () => undefined);
  return {
    settings,
    queue,
    client,
    connect: make,
    close: async () => {
      await queue.close().catch(() => undefined);
      client.disconnect();
    },
  };
}

/** One connection attempt, without retries: an unreachable broker is one error, not a hang. */
async function probe(Redis: RedisCtor, options: Record<string, unknown>, url: string): Promise<void> {
  const c = new Redis({ ...options, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  let lastError: unknown;
  c.on('error', (err) => {
    lastError = err;
  });
  try {
    await c.connect();
    await c.ping();
  } catch (err) {
    const why = (lastError as Error | undefined)?.message ?? (err as Error).message;
    throw new MloError('MLO_QUEUE_UNREACHABLE', `the queue broker ${redactUrl(url)} cannot be reached: ${why}`, {
      hint: 'start Redis there, or fix queue.broker in .mlo/config.yaml (or $MLO_QUEUE_BROKER)',
    });
  } finally {
    c.disconnect();
  }
}
