/**
 * S3 and S3-compatible stores (MinIO, Cloudflare R2, Ceph RGW, s3rver, moto) through @aws-sdk/client-s3.
 * Credentials come from the SDK's default chain (environment, shared config and credentials files,
 * profiles, SSO, instance roles) unless the git-ignored local config names keys.
 *
 * Each request is retried by the SDK's retry middleware with our policy (full-jitter backoff on
 * throttling, 5xx, resets and stalls). A download's body can still break after the response headers,
 * which the SDK does not retry, so `get` retries whole attempts itself.
 *
 * One module: one remote implementation behind the Remote contract; every operation closes over the same client, agents, memory budget and error mapping.
 */
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MloError } from '../../base/errors.js';
import { notFoundError, redactUrl, type ByteSink, type Remote, type RemoteContext, type RemoteEntry, type S3Spec, type TransferOptions } from '../remote.js';
import { ByteBudget, runPool } from '../pool.js';
import { FastPathUnsupported, createFastS3, type FastS3 } from './s3-fast.js';
import { StallError, backoffMs, isThrottling, isTransient, withRetries, type RetryPolicy } from '../retry.js';

const MAX_PART_JOBS = 8;
/** Objects up to this size take the fast path (whole body in memory). */
const FAST_MAX = 8 << 20;
/** Bytes of object bodies held in memory at once, across all jobs. */
const MEMORY_BUDGET = 128 << 20;

export function createS3Remote(ctx: RemoteContext, spec: S3Spec): Remote {
  // mlo supports Node 20 (package.json engines); the SDK's advice to upgrade would be printed on every
  // command that talks to S3, addressed to the user of a tool who cannot act on it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const sockets = { keepAlive: true, maxSockets: Math.max(ctx.jobs, MAX_PART_JOBS) + 4 };
  const agent = spec.endpoint?.startsWith('http:') ? new HttpAgent(sockets) : new HttpsAgent(sockets);
  const client = new S3Client(clientConfig(ctx, spec, agent));
  const budget = new ByteBudget(MEMORY_BUDGET);
  const Bucket = spec.bucket;
  const root = spec.prefix ? `${spec.prefix}/` : '';
  const url = `s3://${spec.bucket}${spec.prefix ? `/${spec.prefix}` : ''}`;
  const describe = (key?: string) => (key ? `${url}/${key}` : url);
  const fail = (err: unknown, op: string, key?: string) => explain(err, ctx, spec, op, describe(key));

  // The fast path for small objects (s3-fast.ts); undefined once it met something only the SDK handles.
  let fast: Promise<FastS3 | undefined> | undefined;
  const fastPath = () =>
    (fast ??= (async () => {
      const pathStyle = spec.path_style ?? Boolean(spec.endpoint);
      if (process.env.AWS_USE_FIPS_ENDPOINT === 'true' || process.env.AWS_USE_DUALSTACK_ENDPOINT === 'true' || process.env.MLO_S3_SDK_ONLY === '1')
        return undefined;
      if (!spec.endpoint && (pathStyle || spec.bucket.includes('.'))) return undefined;
      const region = await client.config.region();
      const endpoint = new URL(spec.endpoint ?? `https://s3.${region}.amazonaws.com`);
      // One clock offset for both paths: a skew either one corrects, the other signs with.
      const clock = {
        get: () => client.config.systemClockOffset ?? 0,
        set: (ms: number) => {
          client.config.systemClockOffset = ms;
        },
      };
      return createFastS3({
        endpoint,
        bucket: Bucket,
        pathStyle,
        region,
        credentials: () => client.config.credentials(),
        clock,
        agent,
        timeoutMs: ctx.timeoutMs,
      });
    })());
  /** Runs `fn` on the fast path; undefined means "use the SDK" (no fast path, or it stepped aside). */
  const viaFast = async <T>(fn: (f: FastS3) => Promise<T>): Promise<{ value: T } | undefined> => {
    const f = await fastPath();
    if (!f) return undefined;
    try {
      return { value: await withRetries(ctx.retry, () => fn(f)) };
    } catch (err) {
      if (!(err instanceof FastPathUnsupported)) throw err;
      fast = Promise.resolve(undefined);
      return undefined;
    }
  };

  const getWhole = (key: string, file: string, options: TransferOptions) =>
    withRetries(ctx.retry, async () => {
      options.sink?.reset();
      const r = await client.send(new GetObjectCommand({ Bucket, Key: root + key }));
      await pipeline(r.Body as Readable, stallGuard(ctx.timeoutMs, options.onBytes, options.sink), createWriteStream(file));
    });

  const getRanged = async (key: string, file: string, size: number, options: TransferOptions) => {
    const fh = await open(file, 'w+');
    try {
      const parts = Math.ceil(size / ctx.tuning.rangeSize);
      // Parts finish out of order; the sink is fed in order, reading each finished part back from the
      // page cache as soon as every part before it is done (hashing overlaps the download).
      const done: boolean[] = [];
      let frontier = 0;
      let feeding = Promise.resolve();
      let buf: Buffer | undefined;
      const feed = () => {
        const sink = options.sink;
        if (!sink) return;
        feeding = feeding.then(async () => {
          while (frontier < parts && done[frontier]) {
            const start = frontier * ctx.tuning.rangeSize;
            const len = Math.min(size, start + ctx.tuning.rangeSize) - start;
            buf ??= Buffer.allocUnsafe(ctx.tuning.rangeSize);
            let off = 0;
            while (off < len) {
              const n = (await fh.read(buf, off, len - off, start + off)).bytesRead;
              if (n === 0) throw new Error(`short read-back at ${start + off}`);
              off += n;
            }
            sink.update(buf.subarray(0, len));
            frontier++;
          }
        });
      };
      options.sink?.reset();
      await runPool(
        Array.from({ length: parts }, (_, i) => i),
        Math.min(ctx.jobs, MAX_PART_JOBS),
        (i) =>
          withRetries(ctx.retry, async () => {
            const start = i * ctx.tuning.rangeSize;
            const end = Math.min(size, start + ctx.tuning.rangeSize) - 1;
            const r = await client.send(new GetObjectCommand({ Bucket, Key: root + key, Range: `bytes=${start}-${end}` }));
            let got = 0;
            const count = (n: number) => {
              got += n;
              options.onBytes?.(n);
            };
            // Each part writes its own range of the file (opened r+ at `start`); the stream batches
            // queued chunks into writev calls.
            await pipeline(r.Body as Readable, stallGuard(ctx.timeoutMs, count), createWriteStream(file, { flags: 'r+', start, highWaterMark: 1 << 20 }));
            // A short body (the connection closed cleanly mid-range) is a failed attempt, not a part.
            if (got !== end + 1 - start) throw Object.assign(new Error(`short read: got ${got} of ${end + 1 - start} bytes`), { code: 'ECONNRESET' });
            done[i] = true;
            feed();
          }),
      );
      await feeding;
    } finally {
      await fh.close();
    }
  };

  return {
    name: ctx.name,
    spec,
    defaultJobs: ctx.jobs,
    describe,

    async *list(prefix) {
      let token: string | undefined;
      do {
        let r;
        try {
          r = await client.send(new ListObjectsV2Command({ Bucket, Prefix: root + prefix, ContinuationToken: token, MaxKeys: ctx.pageSize }));
        } catch (err) {
          throw fail(err, 'list', prefix);
        }
        const page: RemoteEntry[] = [];
        for (const o of r.Contents ?? []) if (o.Key) page.push({ key: o.Key.slice(root.length), size: Number(o.Size ?? 0) });
        if (page.length) yield page;
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    },

    async head(key) {
      try {
        const r = await client.send(new HeadObjectCommand({ Bucket, Key: root + key }));
        return Number(r.ContentLength ?? 0);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw fail(err, 'head', key);
      }
    },

    async get(key, file, options = {}) {
      try {
        if (options.size !== undefined && options.size <= FAST_MAX) {
          const size = options.size;
          const release = await budget.acquire(size);
          try {
            const r = await viaFast((f) => f.get(root + key, size));
            if (r && r.value !== 'size-mismatch') {
              if (r.value === undefined) throw notFoundError(ctx.name, describe(key));
              writeFileSync(file, r.value);
              options.sink?.reset();
              options.sink?.update(r.value);
              options.onBytes?.(r.value.length);
              return;
            }
          } finally {
            release();
          }
        }
        if (options.size !== undefined && options.size >= ctx.tuning.rangedMin) await getRanged(key, file, options.size, options);
        else await getWhole(key, file, options);
      } catch (err) {
        if (isNotFound(err)) throw notFoundError(ctx.name, describe(key));
        throw fail(err, 'download', key);
      }
    },

    async put(key, file, options = {}) {
      const size = options.size ?? (await stat(file)).size;
      try {
        if (size < ctx.tuning.multipartMin) {
          // Small objects are read synchronously: cheaper than four async fs calls, and the CPU is the
          // limit when thousands of them go up.
          const release = await budget.acquire(size);
          try {
            const Body = readFileSync(file);
            if (Body.length <= FAST_MAX && (await viaFast((f) => f.put(root + key, Body)))) {
              options.onBytes?.(Body.length);
              return;
            }
            await client.send(new PutObjectCommand({ Bucket, Key: root + key, Body, ContentLength: Body.length }));
            options.onBytes?.(Body.length);
            return;
          } finally {
            release();
          }
        }
        // Parts are buffers, so the SDK retries each part; a whole upload is retried only if a part
        // runs out of attempts. The object appears under its key only at CompleteMultipartUpload.
        // lib-storage holds up to queueSize parts in memory per upload.
        const queueSize = Math.min(ctx.jobs, MAX_PART_JOBS);
        const release = await budget.acquire(Math.min(size, queueSize * ctx.tuning.partSize));
        await withRetries({ ...ctx.retry, attempts: Math.min(ctx.retry.attempts, 3) }, async () => {
          const upload = new Upload({
            client,
            params: { Bucket, Key: root + key, Body: createReadStream(file, { highWaterMark: 1 << 20 }) },
            partSize: ctx.tuning.partSize,
            queueSize,
            leavePartsOnError: false,
          });
          let last = 0;
          upload.on('httpUploadProgress', (p) => {
            if (p.loaded !== undefined && p.loaded > last) {
              options.onBytes?.(p.loaded - last);
              last = p.loaded;
            }
          });
          await upload.done();
        }).finally(release);
      } catch (err) {
        throw fail(err, 'upload', key);
      }
    },

    async delete(keys) {
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000);
        try {
          const r = await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: batch.map((k) => ({ Key: root + k })), Quiet: true } }));
          const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
          if (failed.length) {
            const e = failed[0];
            throw new MloError(
              'MLO_REMOTE_DELETE',
              `remote '${ctx.name}': could not delete ${failed.length} objects, e.g. ${e.Key}: ${e.Code} ${e.Message ?? ''}`.trim(),
              {
                hint: 'check that the credentials may delete objects (s3:DeleteObject)',
              },
            );
          }
        } catch (err) {
          if (err instanceof MloError) throw err;
          // Some S3-compatible stores lack the batch call or want Content-MD5: one request per object.
          if (!isUnsupported(err)) throw fail(err, 'delete', batch[0]);
          for (const k of batch) {
            try {
              await client.send(new DeleteObjectCommand({ Bucket, Key: root + k }));
            } catch (e) {
              if (!isNotFound(e)) throw fail(e, 'delete', k);
            }
          }
        }
      }
    },

    async close() {
      client.destroy();
      agent.destroy();
    },
  };
}

function clientConfig(ctx: RemoteContext, spec: S3Spec, agent: HttpAgent | HttpsAgent): S3ClientConfig {
  const region = spec.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? (spec.endpoint ? 'us-east-1' : undefined);
  const config: S3ClientConfig = {
    region,
    endpoint: spec.endpoint,
    forcePathStyle: spec.path_style ?? Boolean(spec.endpoint),
    followRegionRedirects: true,
    // mlo verifies every download with its own hash; the SDK's extra CRC checksums cost CPU and are
    // not understood by every S3-compatible store.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    retryStrategy: retryStrategy(ctx.retry),
    requestHandler: {
      ...(agent instanceof HttpsAgent ? { httpsAgent: agent } : { httpAgent: agent }),
      connectionTimeout: 10_000,
      socketTimeout: ctx.timeoutMs,
    },
  };
  if (spec.profile) config.profile = spec.profile;
  if (spec.access_key_id && spec.secret_access_key) {
    config.credentials = { accessKeyId: spec.access_key_id, secretAccessKey: spec.secret_access_key, sessionToken: spec.session_token };
  }
  return config;
}

interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}

/** The SDK's retry hook (its RetryStrategyV2), driven by our policy, without the standard strategy's retry quota. */
function retryStrategy(policy: RetryPolicy): NonNullable<S3ClientConfig['retryStrategy']> {
  const token = (count: number, delay: number): RetryToken => ({ getRetryCount: () => count, getRetryDelay: () => delay });
  return {
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (previous: RetryToken, info: { errorType: string; error?: unknown }) => {
      const next = previous.getRetryCount() + 1;
      const retryable = info.errorType !== 'CLIENT_ERROR' || isTransient(info.error);
      if (next >= policy.attempts || !retryable) throw new Error('no more retries');
      const throttled = info.errorType === 'THROTTLING' || isThrottling(info.error);
      return token(next, backoffMs(policy, next, throttled));
    },
    recordSuccess: () => {},
  };
}

/** Passes chunks through, and fails the stream when none arrives for `ms` (a stalled connection). */
function stallGuard(ms: number, onBytes?: (n: number) => void, sink?: ByteSink): Transform {
  let timer: NodeJS.Timeout | undefined;
  const guard: Transform = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      arm();
      onBytes?.(chunk.length);
      sink?.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      clearTimeout(timer);
      cb();
    },
  });
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => guard.destroy(new StallError(ms)), ms);
  };
  arm();
  guard.on('close', () => clearTimeout(timer));
  return guard;
}

function errName(err: unknown): string {
  const e = err as { name?: string; Code?: string } | undefined;
  return e?.Code ?? e?.name ?? '';
}

function isNotFound(err: unknown): boolean {
  const e = err as { $metadata?: { httpStatusCode?: number } } | undefined;
  return ['NotFound', 'NoSuchKey'].includes(errName(err)) || (e?.$metadata?.httpStatusCode === 404 && errName(err) !== 'NoSuchBucket');
}

function isUnsupported(err: unknown): boolean {
  return ['NotImplemented', 'MissingContentMD5', 'InvalidRequest', 'MethodNotAllowed', 'InvalidDigest'].includes(errName(err));
}

/** Turns an SDK or network error into an MloError that names the remote, the object and a next step. */
function explain(err: unknown, ctx: RemoteContext, spec: S3Spec, op: string, where: string): MloError {
  if (err instanceof MloError) return err;
  const name = errName(err);
  const message = (err as Error | undefined)?.message ?? String(err);
  const at = `remote '${ctx.name}': ${op} ${where}`;
  if (name === 'NoSuchBucket') {
    return new MloError('MLO_REMOTE_NO_BUCKET', `${at}: bucket '${spec.bucket}' does not exist`, {
      cause: err,
      hint: `create it (aws s3 mb s3://${spec.bucket}${spec.endpoint ? ` --endpoint-url ${redactUrl(spec.endpoint)}` : ''}) or fix the URL with \`mlo remote modify ${ctx.name} url s3://BUCKET/PREFIX\``,
    });
  }
  if (
    [
      'CredentialsProviderError',
      'InvalidAccessKeyId',
      'SignatureDoesNotMatch',
      'AccessDenied',
      'ExpiredToken',
      'InvalidToken',
      'TokenRefreshRequired',
    ].includes(name) ||
    (/credential/i.test(message) && /could not load|missing|not found/i.test(message))
  ) {
    return new MloError('MLO_REMOTE_AUTH', `${at}: ${name === 'AccessDenied' ? 'access denied' : message}`, {
      cause: err,
      hint:
        'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or `mlo remote modify --local ' +
        `${ctx.name} access_key_id ...\` (and secret_access_key); check the bucket policy allows s3:GetObject, s3:PutObject and s3:ListBucket`,
    });
  }
  if (/region is missing/i.test(message)) {
    return new MloError('MLO_BAD_REMOTE', `${at}: no region configured`, {
      cause: err,
      hint: `\`mlo remote modify ${ctx.name} region us-east-1\` (or set AWS_REGION)`,
    });
  }
  const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts;
  const detail = name && !message.includes(name) ? `${name}: ${message}` : message;
  return new MloError('MLO_REMOTE_UNAVAILABLE', `${at} failed${isTransient(err) ? ` after ${attempts ?? ctx.retry.attempts} attempts` : ''}: ${detail}`, {
    cause: err,
    hint: `check the network and the endpoint${spec.endpoint ? ` ${redactUrl(spec.endpoint)}` : ''}; run the command again: it resumes where it stopped`,
  });
}
