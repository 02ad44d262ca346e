import { createServer, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FastPathUnsupported, createFastS3 } from './s3-fast.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A one-route S3 stand-in; returns the fast path pointed at it and the requests it saw. */
async function fastAgainst(handler: Handler, clockMs = 0) {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new Agent({ keepAlive: true });
  closers.push(() => {
    agent.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  });
  let offset = clockMs;
  const fast = createFastS3({
    endpoint: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    bucket: 'b',
    pathStyle: true,
    region: 'us-east-1',
    credentials: async () => ({ accessKeyId: 'AKID', secretAccessKey: 'SECRET' }),
    clock: {
      get: () => offset,
      set: (ms) => {
        offset = ms;
      },
    },
    agent,
    timeoutMs: 5_000,
  });
  return { fast, seen, offset: () => offset };
}

const s3Error = (res: ServerResponse, status: number, code: string, date = new Date()) => {
  res.writeHead(status, { 'content-type': 'application/xml', date: date.toUTCString() });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`);
};

/** x-amz-date (20260102T030405Z) as epoch ms. */
const amzDate = (req: IncomingMessage) =>
  Date.parse(String(req.headers['x-amz-date']).replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));

describe('S3 fast path signing', () => {
  it('signs with SigV4 headers over the path-style key', async () => {
    const { fast, seen } = await fastAgainst((_req, res) => res.writeHead(200).end());
    await fast.put('dir/a b', Buffer.from('hello'));
    const req = seen[0];
    expect(req.url).toBe('/b/dir/a%20b');
    expect(req.headers['x-amz-content-sha256']).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(req.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
  });

  it('corrects a skewed clock from the Date header and retries once, as the SDK does', async () => {
    // The server's clock runs an hour ahead of ours and refuses requests more than 15 minutes off.
    const ahead = 3_600_000;
    const { fast, seen, offset } = await fastAgainst((req, res) => {
      const serverNow = new Date(Date.now() + ahead);
      if (Math.abs(amzDate(req) - serverNow.getTime()) > 900_000) s3Error(res, 403, 'RequestTimeTooSkewed', serverNow);
      else res.writeHead(200, { date: serverNow.toUTCString() }).end();
    });
    await fast.put('k', Buffer.from('x'));
    expect(seen).toHaveLength(2);
    expect(Math.abs(offset() - ahead)).toBeLessThan(5_000);
    // Later requests are signed with the corrected clock straight away.
    await fast.put('k2', Buffer.from('y'));
    expect(seen).toHaveLength(3);
  });

  it('leaves a signature the clock does not explain to the SDK', async () => {
    const { fast, seen } = await fastAgainst((_req, res) => s3Error(res, 403, 'SignatureDoesNotMatch'));
    await expect(fast.get('k', 1)).rejects.toBeInstanceOf(FastPathUnsupported);
    expect(seen).toHaveLength(1);
  });

  it('leaves a skew that persists after one correction to the SDK', async () => {
    let n = 0;
    const { fast, seen } = await fastAgainst((_req, res) => s3Error(res, 403, 'RequestTimeTooSkewed', new Date(Date.now() + 3_600_000 * ++n)));
    await expect(fast.put('k', Buffer.from('x'))).rejects.toBeInstanceOf(FastPathUnsupported);
    expect(seen).toHaveLength(2);
  });
});
