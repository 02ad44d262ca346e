/**
 * Retries with exponential backoff and full jitter ("sleep = random(0, min(cap, base * 2^attempt))",
 * the AWS Architecture Blog's recommendation): many workers hitting a throttled server spread out
 * instead of retrying in lockstep.
 */
import { errnoCode } from '../base/errors.js';

export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  baseMs: number;
  capMs: number;
}

export const DEFAULT_ATTEMPTS = 6;

export function retryPolicyFrom(configured?: number): RetryPolicy {
  const env = Number(process.env.MLO_REMOTE_RETRIES);
  const attempts = Number.isInteger(env) && env > 0 ? env : (configured ?? DEFAULT_ATTEMPTS);
  const base = Number(process.env.MLO_REMOTE_BACKOFF_MS);
  return { attempts, baseMs: Number.isFinite(base) && base > 0 ? base : 200, capMs: 10_000 };
}

/** Delay before retry number `retry` (1 for the first retry); throttling starts from a longer base. */
export function backoffMs(policy: RetryPolicy, retry: number, throttled = false): number {
  const base = throttled ? policy.baseMs * 2.5 : policy.baseMs;
  return Math.floor(Math.random() * Math.min(policy.capMs, base * 2 ** retry));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'EBUSY',
  'EAGAIN',
]);
const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'StallError',
  'AbortError',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'InternalError',
  'ServiceUnavailable',
]);

/** Network resets, stalls, throttling and 5xx: worth another attempt. */
export function isTransient(err: unknown): boolean {
  const code = errnoCode(err);
  if (code && TRANSIENT_CODES.has(code)) return true;
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown } | undefined;
  if (!e) return false;
  if (e.name && TRANSIENT_NAMES.has(e.name)) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (e.$retryable) return true;
  return /socket hang up|aborted|premature close|ECONNRESET/i.test(e.message ?? '');
}

export function isThrottling(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return e?.name === 'SlowDown' || e?.$metadata?.httpStatusCode === 503 || e?.$metadata?.httpStatusCode === 429;
}

/**
 * Runs `fn` until it succeeds, a non-transient error occurs, or the attempts are used up; the last
 * error is rethrown (the caller names the remote and object).
 */
export async function withRetries<T>(policy: RetryPolicy, fn: (attempt: number) => Promise<T>, retryable: (err: unknown) => boolean = isTransient): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= policy.attempts || !retryable(err)) throw err;
      await sleep(backoffMs(policy, attempt, isThrottling(err)));
    }
  }
}

export class StallError extends Error {
  constructor(ms: number) {
    super(`no data for ${Math.round(ms / 1000)} s`);
    this.name = 'StallError';
  }
}
