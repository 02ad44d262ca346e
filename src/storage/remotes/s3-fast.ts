/**
 * The hot path for small objects: PUT and GET as plain HTTP requests, signed by @smithy/signature-v4
 * (the SDK's own signer), over the same keep-alive agent. Measured on 2 cores against s3rver: the SDK's
 * middleware stack (endpoint rules, schema serde, retry and signing middleware) costs about 1 ms of CPU
 * per request, which made mlo CPU-bound at ~400 small uploads/s. Signing with SignatureV4 costs ~70 us
 * of CPU per request against ~20 us for the hand-rolled signer it replaced: a small price for not
 * keeping our own copy of the algorithm. Credentials, region and the clock offset come from the SDK
 * client (the default provider chain), and anything unusual (a redirect, a region or signature
 * complaint, an unexpected status) turns the fast path off for the rest of the command, so the SDK
 * handles it.
 */
import { createHash } from 'node:crypto';
import { type Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { StallError } from '../retry.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The client's clock offset (server time minus local time, in ms), shared with the SDK client. */
export interface ClockOffset {
  get(): number;
  set(ms: number): void;
}

export interface FastS3Options {
  /** Base URL: the custom endpoint, or `https://s3.<region>.amazonaws.com`. */
  endpoint: URL;
  bucket: string;
  pathStyle: boolean;
  region: string;
  credentials: () => Promise<Credentials>;
  clock: ClockOffset;
  agent: HttpAgent | HttpsAgent;
  timeoutMs: number;
}

/** An S3 error answer, shaped like the SDK's (name, $metadata) so the same classification applies. */
export class S3HttpError extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(status: number, code: string, message: string) {
    super(message || code || `HTTP ${status}`);
    this.name = code || `Http${status}`;
    this.$metadata = { httpStatusCode: status };
  }
}

/** Raised when the fast path met something only the SDK knows how to handle. */
export class FastPathUnsupported extends Error {}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/** The answers of a server that rejects the request's time or signature (the SDK's clock-skew codes). */
const SKEW_CODES = ['RequestTimeTooSkewed', 'RequestExpired', 'RequestInTheFuture', 'SignatureDoesNotMatch', 'InvalidSignatureException', 'AuthFailure'];

/** A corrected offset this much off the one a request was signed with is worth a second attempt (the SDK's threshold). */
const SKEW_RETRY_MS = 240_000;

function encodeKey(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

interface Answer {
  status: number;
  body: Buffer;
  res: IncomingMessage;
}

export function createFastS3(o: FastS3Options) {
  const secure = o.endpoint.protocol === 'https:';
  const host = o.pathStyle ? o.endpoint.host : `${o.bucket}.${o.endpoint.host}`;
  const basePath = o.endpoint.pathname.replace(/\/+$/, '');
  const keyPath = (key: string) => `${basePath}${o.pathStyle ? `/${encodeURIComponent(o.bucket)}` : ''}/${encodeKey(key)}`;
  // S3 signs the path as sent (already encoded once), hence uriEscapePath: false, as in the SDK's S3 signer.
  const signer = new SignatureV4({ service: 's3', region: o.region, credentials: o.credentials, sha256: Sha256, uriEscapePath: false });

  const sign = async (method: string, path: string, payloadHash: string, offset: number) => {
    const signed = await signer.sign(
      { method, protocol: o.endpoint.protocol, hostname: o.endpoint.hostname, path, query: {}, headers: { host, 'x-amz-content-sha256': payloadHash } },
      { signingDate: new Date(Date.now() + offset) },
    );
    return signed.headers as Record<string, string | number>;
  };

  const send = (method: string, path: string, headers: Record<string, string | number>, body?: Buffer, expectedSize?: number) =>
    new Promise<Answer | 'size-mismatch'>((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(
        { host: o.endpoint.hostname, port: o.endpoint.port || (secure ? 443 : 80), method, path, headers, agent: o.agent },
        (res) => {
          const length = res.headers['content-length'];
          if (res.statusCode === 200 && expectedSize !== undefined && length !== undefined && Number(length) !== expectedSize) {
            res.destroy();
            resolve('size-mismatch');
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (!res.complete) reject(Object.assign(new Error('response ended early'), { code: 'ECONNRESET' }));
            else resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), res });
          });
          res.on('error', reject);
          res.on('aborted', () => reject(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
        },
      );
      // An idle socket for this long is a stalled request: cut it, so the caller retries.
      req.setTimeout(o.timeoutMs, () => req.destroy(new StallError(o.timeoutMs)));
      req.on('error', reject);
      req.end(body);
    });

  const codeOf = (body: Buffer) => /<Code>([^<]*)<\/Code>/.exec(body.toString('utf8'))?.[1] ?? '';

  const failure = (status: number, body: Buffer): Error => {
    const code = codeOf(body);
    const message = /<Message>([^<]*)<\/Message>/.exec(body.toString('utf8'))?.[1] ?? '';
    // Redirects and region/signature disagreements need the SDK's endpoint logic.
    if ((status >= 300 && status < 400) || ['AuthorizationHeaderMalformed', 'PermanentRedirect', 'IllegalLocationConstraintException'].includes(code)) {
      return new FastPathUnsupported(`${status} ${code}`);
    }
    return new S3HttpError(status, code, message);
  };

  /**
   * Signs and sends one request. A clock-skew or signature answer corrects the shared clock offset from
   * the server's Date header and tries once more, as the SDK does; if that does not help (or the clock
   * was not the cause), the request is the SDK's to make.
   */
  const signedRequest = async (method: string, path: string, options: { payloadHash: string; body?: Buffer; expectedSize?: number }) => {
    for (let attempt = 0; ; attempt++) {
      const offset = o.clock.get();
      const headers = await sign(method, path, options.payloadHash, offset);
      if (options.body) headers['content-length'] = options.body.length;
      const sentAt = Date.now();
      const r = await send(method, path, headers, options.body, options.expectedSize);
      if (r === 'size-mismatch' || r.status < 400 || !SKEW_CODES.includes(codeOf(r.body))) return r;
      const corrected = correctedOffset(r.res, sentAt);
      if (attempt > 0 || corrected === undefined || Math.abs(corrected - offset) < SKEW_RETRY_MS) {
        throw new FastPathUnsupported(`${r.status} ${codeOf(r.body)}`);
      }
      o.clock.set(corrected);
    }
  };

  return {
    async put(key: string, bytes: Buffer): Promise<void> {
      const r = await signedRequest('PUT', keyPath(key), { payloadHash: createHash('sha256').update(bytes).digest('hex'), body: bytes });
      if (r === 'size-mismatch') throw new Error('unreachable');
      if (r.status !== 200) throw failure(r.status, r.body);
    },

    /**
     * The object's bytes; undefined when it does not exist; 'size-mismatch' (body not read) when the
     * remote's copy is not `expectedSize` bytes, so a tampered giant never lands in memory.
     */
    async get(key: string, expectedSize: number): Promise<Buffer | undefined | 'size-mismatch'> {
      const r = await signedRequest('GET', keyPath(key), { payloadHash: EMPTY_SHA256, expectedSize });
      if (r === 'size-mismatch') return r;
      if (r.status === 404) {
        const err = failure(r.status, r.body);
        if (err.name === 'NoSuchKey') return undefined;
        throw err;
      }
      if (r.status !== 200) throw failure(r.status, r.body);
      const length = r.res.headers['content-length'];
      if (length !== undefined && Number(length) !== r.body.length) throw Object.assign(new Error('short body'), { code: 'ECONNRESET' });
      return r.body;
    },
  };
}

/**
 * Server time minus local time from an answer's Date header, or undefined when it cannot be trusted:
 * no Date, a cached answer (Age), or a round trip over 15 minutes (the SDK's getUpdatedSystemClockOffset).
 */
function correctedOffset(res: IncomingMessage, sentAt: number): number | undefined {
  const serverTime = Date.parse(res.headers.date ?? '');
  const receivedAt = Date.now();
  if (Number.isNaN(serverTime) || res.headers.age !== undefined || receivedAt - sentAt > 900_000) return undefined;
  return serverTime - receivedAt;
}

export type FastS3 = ReturnType<typeof createFastS3>;
