/**
 * The storage interface every remote implements and the remote settings (a discriminated union on `type`,
 * derived from the URL); the one factory is in create.ts. Keys are relative to the remote's root and use `/`; the
 * object layout on top of them (`ab/cdef...`) is the sync layer's business, not the storage's.
 */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { MloError } from '../base/errors.js';
import type { RetryPolicy } from './retry.js';

/** Keys that hold credentials: written only to the git-ignored `.mlo/config.local.yaml`. */
export const SECRET_KEYS = ['access_key_id', 'secret_access_key', 'session_token'] as const;

const common = {
  url: z.string().min(1),
  /** Concurrent requests; the default suits each type (see DEFAULT_JOBS). */
  jobs: z.number().int().positive().optional(),
  /** Attempts per request before giving up (throttling, 5xx, resets, stalls). */
  retries: z.number().int().min(1).max(20).optional(),
  /** Seconds without progress after which a request counts as stalled and is retried. */
  timeout: z.number().positive().optional(),
  /** Days push trusts the remote index's record of an object before asking the remote again. */
  index_max_age: z.number().positive().optional(),
};

export const localSpecSchema = z.object({ type: z.literal('local'), path: z.string().min(1), ...common }).strict();

export const s3SpecSchema = z
  .object({
    type: z.literal('s3'),
    bucket: z.string().min(1),
    /** Key prefix without leading or trailing slash ('' for the bucket root). */
    prefix: z.string(),
    endpoint: z.string().url().optional(),
    region: z.string().min(1).optional(),
    profile: z.string().min(1).optional(),
    /** Path-style addressing (`endpoint/bucket/key`); defaults to on when an endpoint is set. */
    path_style: z.boolean().optional(),
    access_key_id: z.string().min(1).optional(),
    secret_access_key: z.string().min(1).optional(),
    session_token: z.string().min(1).optional(),
    ...common,
  })
  .strict();

export const remoteSpecSchema = z.discriminatedUnion('type', [localSpecSchema, s3SpecSchema]);
export type RemoteSpec = z.infer<typeof remoteSpecSchema>;
export type LocalSpec = z.infer<typeof localSpecSchema>;
export type S3Spec = z.infer<typeof s3SpecSchema>;

/**
 * Defaults measured on 2 cores against a local S3 server and chosen for network latency: a request
 * spends most of its time waiting, so many are kept in flight. Local folders are bound by the disk.
 */
export const DEFAULT_JOBS: Record<RemoteSpec['type'], number> = { s3: 32, local: 8 };

/** Settings a user may put on a remote of each type (besides url), for `mlo remote modify`. */
export const REMOTE_KEYS: Record<RemoteSpec['type'], readonly string[]> = {
  local: ['jobs', 'retries', 'timeout', 'index_max_age'],
  s3: ['endpoint', 'region', 'profile', 'path_style', 'jobs', 'retries', 'timeout', 'index_max_age', ...SECRET_KEYS],
};

export const NUMBER_KEYS = new Set(['jobs', 'retries', 'timeout', 'index_max_age']);

/** Default of `index_max_age`: a week-old record is confirmed again (one HEAD or listing round). */
export const DEFAULT_INDEX_MAX_AGE_DAYS = 7;
export const BOOLEAN_KEYS = new Set(['path_style']);

/** `scheme://` then userinfo (`user:pass@`, `token@`) before the host. */
const USERINFO_RE = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i;

/**
 * Whether a URL carries credentials in its userinfo (`http://user:pass@host`, `https://token@host`).
 * S3 requests are signed, so no endpoint needs them; in the committed config they would reach every clone.
 */
export function urlHasCredentials(url: string): boolean {
  return USERINFO_RE.test(url);
}

/** `url` with its userinfo shown as `***@`, for output and error messages. */
export function redactUrl(url: string): string {
  return url.replace(USERINFO_RE, '$1***@');
}

/** The remote type a URL names: `s3://...` or a local folder (absolute, relative, or `file://`). */
export function remoteTypeOf(url: string): RemoteSpec['type'] {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file') return 'local';
  if (scheme === 's3') return 's3';
  throw new MloError('MLO_BAD_REMOTE', `unsupported remote URL '${redactUrl(url)}': mlo speaks s3:// and local folders`, {
    hint: 'for MinIO, R2, Ceph and other S3-compatible stores use s3://BUCKET/PREFIX and `mlo remote modify NAME endpoint URL`',
  });
}

/**
 * Parses a remote's config entry (url plus settings) into a spec. Relative folder paths are resolved
 * against `root` (the repository), so a remote works the same from any subfolder.
 */
export function parseRemoteSpec(name: string, raw: Record<string, unknown>, root: string): RemoteSpec {
  const url = typeof raw.url === 'string' ? raw.url : '';
  const { url: _url, ...rest } = raw;
  let derived: Record<string, unknown>;
  const type = remoteTypeOf(url);
  if (type === 's3') {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
    if (!m || m[1].includes('@') || m[1].includes(':')) {
      throw new MloError('MLO_BAD_REMOTE', `remote '${name}': '${redactUrl(url)}' is not an s3://BUCKET/PREFIX URL`, {
        hint: 'credentials never go in the URL; they come from the AWS environment, profiles, or `mlo remote modify --local`',
      });
    }
    derived = { type, bucket: m[1], prefix: m[2].replace(/^\/+|\/+$/g, '') };
  } else {
    const path = url.toLowerCase().startsWith('file://') ? fileURLToPath(url) : url;
    derived = { type, path: isAbsolute(path) ? path : resolve(root, path) };
  }
  const parsed = remoteSpecSchema.safeParse({ ...rest, ...derived, url });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const extra = issue.code === 'unrecognized_keys' ? ` ${issue.keys.map((k) => `'${k}'`).join(', ')}` : '';
    throw new MloError('MLO_BAD_REMOTE', `remote '${name}': ${issue.path.join('.') || 'settings'}: ${issue.message}${extra}`, {
      hint: `settings for ${type} remotes: url, ${REMOTE_KEYS[type].join(', ')} (docs/remotes.md)`,
    });
  }
  return parsed.data;
}

export interface RemoteEntry {
  key: string;
  size: number;
}

export interface TransferOptions {
  /** Expected size, when known: picks multipart/ranged transfers for large objects. */
  size?: number;
  /** Called with each chunk's byte count (progress). Retried bytes are counted again. */
  onBytes?: (n: number) => void;
  /**
   * Downloads only: receives the object's bytes in order, once each (`reset` before an attempt that
   * starts over), so the caller can hash while the bytes arrive. A remote may leave it unfed (a local
   * copy); the caller then hashes the file.
   */
  sink?: ByteSink;
}

export interface ByteSink {
  reset(): void;
  update(chunk: Buffer): void;
}

export interface Remote {
  readonly name: string;
  readonly spec: RemoteSpec;
  /** Concurrent requests to use unless the user says otherwise. */
  readonly defaultJobs: number;
  /** A URL for `key`, for messages (`s3://bucket/prefix/ab/cd...`). */
  describe(key?: string): string;
  /** Every object whose key starts with `prefix`, one page at a time. */
  list(prefix: string): AsyncIterable<RemoteEntry[]>;
  /** The object's size, or undefined when it does not exist. */
  head(key: string): Promise<number | undefined>;
  /** Downloads `key` into `file` (created or truncated). Throws MLO_REMOTE_NOT_FOUND when absent. */
  get(key: string, file: string, options?: TransferOptions): Promise<void>;
  /** Uploads `file` as `key`. The object becomes visible under `key` only once complete. */
  put(key: string, file: string, options?: TransferOptions): Promise<void>;
  /** Deletes `keys`; keys that do not exist are not an error. */
  delete(keys: string[]): Promise<void>;
  /**
   * Temp files an interrupted upload left behind (`.mlo-tmp-*` on a folder remote) that are older than
   * `maxAgeMs`: removed unless `dry`; returns how many. Remotes whose uploads appear atomically (S3)
   * have none.
   */
  clearStaleTemps?(maxAgeMs: number, dry: boolean): Promise<number>;
  close(): Promise<void>;
}

export interface RemoteContext {
  name: string;
  spec: RemoteSpec;
  retry: RetryPolicy;
  /** Stall timeout in milliseconds. */
  timeoutMs: number;
  /** Concurrency the caller will use (sizes the HTTP connection pool). */
  jobs: number;
  /** Listing page size; only tests lower it (to exercise pagination on a small remote). */
  pageSize?: number;
  tuning: TransferTuning;
}

/** Sizes that pick multipart uploads and ranged downloads; tests lower them to exercise both cheaply. */
export interface TransferTuning {
  multipartMin: number;
  partSize: number;
  rangedMin: number;
  rangeSize: number;
}

export const DEFAULT_TUNING: TransferTuning = {
  // Below 16 MiB one PutObject with the bytes in memory (the SDK can retry it); above, 16 MiB parts.
  multipartMin: 16 << 20,
  partSize: 16 << 20,
  // One TCP stream rarely fills a fast link: big objects come down as parallel ranged GETs.
  rangedMin: 64 << 20,
  rangeSize: 16 << 20,
};

export function notFoundError(remote: string, where: string): MloError {
  return new MloError('MLO_REMOTE_NOT_FOUND', `remote '${remote}' has no object ${where}`, {
    hint: 'push it from a machine whose cache holds it (`mlo push`), or check that the remote URL is right',
  });
}
