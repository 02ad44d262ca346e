/**
 * `mlo serve` under requests a stranger crafts: absurd shapes, values outside float32, repeated input
 * names, huge echoed shapes; and a token that is empty or sent with a lowercase scheme. Every bad
 * request is a bounded 400 naming the input, never a 500 or a silent 200.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mloWith, tempDir, writeTree } from '../helpers.js';
import { LINEAR, post, serve, type Served } from '../model/fixtures.js';

const v2 = (inputs: unknown[]) => ({ inputs });
const x = (shape: unknown[], data: unknown[]) => ({ name: 'x', datatype: 'FP32', shape, data });

describe('mlo serve: hostile requests', () => {
  let dir: string;
  let s: Served;
  beforeAll(async () => {
    dir = tempDir();
    writeTree(dir, { 'lin.onnx': LINEAR });
    s = await serve(dir, ['lin.onnx']);
  });
  afterAll(async () => {
    await s?.stop();
  });

  const infer = (body: unknown) => post(`${s.url}/v2/models/lin/infer`, body);

  it('answers a shape whose product is absurd with a 400, not a 500', async () => {
    const r = await infer(v2([x([1e12, 3], [1, 2, 3])]));
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatch(/input 'x' .*3000000000000 elements.*limit/);
    // Within the limit but not matching the data: still a 400 naming the counts.
    const r2 = await infer(v2([x([1000, 3], [1, 2, 3])]));
    expect(r2.status).toBe(400);
    expect((await r2.json()).error).toMatch(/input 'x' has 3 values but its shape needs 3000/);
  });

  it('refuses a value outside the float32 range instead of answering null', async () => {
    const r = await infer(v2([x([1, 3], [1e39, 0, 0])]));
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatch(/input 'x' holds 1e\+39 at flat index 0.*float32/);
    const m = await post(`${s.url}/invocations`, { inputs: [[0, -1e39, 0]] });
    expect(m.status).toBe(400);
    expect((await m.json()).message).toMatch(/input 'x' holds -1e\+39 at flat index 1/);
    // The largest float32 itself is fine.
    const ok = await infer(v2([x([1, 3], [3.4028234663852886e38, 0, 0])]));
    expect(ok.status).toBe(200);
  });

  it('refuses an input named twice in one v2 request', async () => {
    const r = await infer(v2([x([1, 3], [1, 2, 3]), x([1, 3], [4, 5, 6])]));
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatch(/input 'x' is given more than once/);
  });

  it('bounds the error body when a huge shape is echoed back', async () => {
    const shape = new Array(100_000).fill(1);
    const r = await infer(v2([x(shape, [1])]));
    expect(r.status).toBe(400);
    const text = await r.text();
    expect(text.length).toBeLessThan(1000);
    expect(JSON.parse(text).error).toMatch(/input 'x' has shape \[1, 1, .*more\]/);
  });

  it('bounds the 404 that names an unknown model, version or route', async () => {
    const long = 'm'.repeat(8000);
    for (const [url, field] of [
      [`${s.url}/v2/models/${long}/infer`, 'error'],
      [`${s.url}/v2/models/lin/versions/${long}/infer`, 'error'],
      [`${s.url}/invocations?model=${long}`, 'message'],
      [`${s.url}/${long}`, 'error'],
    ] as const) {
      const r = await post(url, v2([x([1, 3], [1, 2, 3])]));
      expect(r.status, url.slice(0, 60)).toBe(404);
      const text = await r.text();
      expect(text.length, url.slice(0, 60)).toBeLessThan(400);
      expect(JSON.parse(text)[field]).toMatch(/m{99}\.\.\. \(800[01] characters\)/);
    }
  });

  it('accepts the bearer scheme in any case', async () => {
    const t = await serve(dir, ['lin.onnx', '--token', 's3cret']);
    try {
      const body = { inputs: [[1, 2, 3]] };
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        const r = await post(`${t.url}/invocations`, body, { authorization: `${scheme} s3cret` });
        expect(r.status, scheme).toBe(200);
      }
      expect((await post(`${t.url}/invocations`, body, { authorization: 'bearer s3cre' })).status).toBe(401);
      expect((await post(`${t.url}/invocations`, body, { authorization: 'Basic s3cret' })).status).toBe(401);
      expect((await post(`${t.url}/invocations`, body, { authorization: 'bearers3cret' })).status).toBe(401);
    } finally {
      await t.stop();
    }
  });
});

/** Opens a connection, sends a keep-alive GET and resolves with what came back before `ms` or a close. */
function rawGet(port: number, ms = 2000): Promise<{ text: string; socket: ReturnType<typeof connect> }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const done = () => resolve({ text, socket });
    socket.on('connect', () => socket.write('GET /v2/health/live HTTP/1.1\r\nhost: x\r\nconnection: keep-alive\r\n\r\n'));
    socket.on('data', (c) => {
      text += c;
      if (text.includes('\r\n\r\n')) done();
    });
    socket.on('close', done);
    socket.on('error', done);
    setTimeout(done, ms).unref();
  });
}

describe('mlo serve --max-connections', () => {
  it('closes connections beyond the cap and serves again once one closes', async () => {
    const dir = tempDir();
    writeTree(dir, { 'lin.onnx': LINEAR });
    const s = await serve(dir, ['lin.onnx', '--max-connections', '1']);
    try {
      const a = await rawGet(s.port);
      expect(a.text).toMatch(/^HTTP\/1.1 200/);
      const b = await rawGet(s.port);
      expect(b.text).toBe('');
      a.socket.destroy();
      await new Promise((r) => setTimeout(r, 200));
      const c = await rawGet(s.port);
      expect(c.text).toMatch(/^HTTP\/1.1 200/);
      c.socket.destroy();
    } finally {
      await s.stop();
    }
  });
});

describe('mlo serve: an empty token', () => {
  it('refuses --token "" and an empty MLO_SERVE_TOKEN with a usage error', async () => {
    const dir = tempDir();
    writeTree(dir, { 'lin.onnx': LINEAR });
    const flag = await mloWith({ cwd: dir, timeout: 20_000 }, 'serve', 'lin.onnx', '--port', '0', '--token', '');
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr.trim().split('\n')).toHaveLength(1);
    expect(flag.stderr).toMatch(/--token is empty/);
    const env = await mloWith({ cwd: dir, timeout: 20_000, env: { MLO_SERVE_TOKEN: '' } }, 'serve', 'lin.onnx', '--port', '0');
    expect(env.exitCode).toBe(2);
    expect(env.stderr).toMatch(/MLO_SERVE_TOKEN/);
    expect(env.stderr).not.toMatch(/\n\s+at /);
  });
});
