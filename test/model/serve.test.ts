import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, makeRepo, mlo, tempDir, writeTree } from '../helpers.js';
import { FIXED, LINEAR, LINEAR_V2, MLP, expectLinear, post, serve, type Served } from './fixtures.js';

describe('mlo serve a model file (outside a repository)', () => {
  let dir: string;
  let s: Served;
  beforeAll(async () => {
    dir = tempDir();
    writeTree(dir, { 'lin.onnx': LINEAR, 'fixed.onnx': FIXED });
    s = await serve(dir, ['lin.onnx', 'fixed.onnx', '--max-body', '4096', '--log', 'serve.jsonl', '--log-sample', '1']);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('answers health, server and model metadata', async () => {
    expect(s.info.models.map((m: any) => [m.name, m.version, m.batching])).toEqual([
      ['lin', null, true],
      ['fixed', null, false],
    ]);
    expect((await fetch(`${s.url}/v2/health/live`)).status).toBe(200);
    expect(await (await fetch(`${s.url}/v2/health/ready`)).json()).toEqual({ ready: true });
    expect(await (await fetch(`${s.url}/v2/models/lin`)).json()).toEqual({
      name: 'lin',
      versions: ['path'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    });
    expect((await fetch(`${s.url}/v2/models/lin/ready`)).status).toBe(200);
    expect((await fetch(`${s.url}/v2/models/nope`)).status).toBe(404);
    expect((await fetch(`${s.url}/v2/models/%E0%A4%A/infer`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${s.url}/no/such/route`)).status).toBe(404);
    expect((await fetch(`${s.url}/invocations`)).status).toBe(405);
  });

  it('infers over the Open Inference Protocol v2', async () => {
    const r = await post(`${s.url}/v2/models/lin/infer`, { id: 'abc', inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-mlo-model')).toBe('lin');
    expect(await r.json()).toEqual({
      model_name: 'lin',
      model_version: 'path',
      id: 'abc',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 2], data: [...expectLinear([1, 2, 3]), ...expectLinear([4, 5, 6])] }],
    });
  });

  it('infers over MLflow /invocations in all four payload formats', async () => {
    const want = { predictions: [expectLinear([1, 2, 3]), expectLinear([4, 5, 6])] };
    const bodies = [
      {
        inputs: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      },
      {
        inputs: {
          x: [
            [1, 2, 3],
            [4, 5, 6],
          ],
        },
      },
      {
        instances: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      },
      {
        dataframe_split: {
          columns: ['a', 'b', 'c'],
          data: [
            [1, 2, 3],
            [4, 5, 6],
          ],
        },
      },
      {
        dataframe_records: [
          { a: 1, b: 2, c: 3 },
          { a: 4, b: 5, c: 6 },
        ],
      },
    ];
    for (const body of bodies) {
      const r = await post(`${s.url}/invocations?model=lin`, body);
      expect(r.status, JSON.stringify(body)).toBe(200);
      expect(await r.json()).toEqual(want);
    }
    // Two models are served, so /invocations needs to be told which one.
    const ambiguous = await post(`${s.url}/invocations`, bodies[0]);
    expect(ambiguous.status).toBe(400);
    expect((await ambiguous.json()).message).toMatch(/add \?model=NAME/);
  });

  it('answers every bad request with a 400 naming the input and what was expected, and keeps serving', async () => {
    const cases: [string, string | object, RegExp][] = [
      ['v2', { inputs: [{ name: 'x', shape: [1, 3], datatype: 'INT64', data: [1, 2, 3] }] }, /input 'x' has datatype INT64; expected FP32/],
      ['v2', { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, /input 'x' has shape \[1, 4\]; expected \[batch, 3\]/],
      ['v2', { inputs: [] }, /input 'x' is missing/],
      ['v2', { inputs: [{ name: 'z', shape: [1], datatype: 'FP32', data: [1] }] }, /unknown input 'z'/],
      ['mlflow', { inputs: [[1, 2]] }, /input 'x' has shape \[1, 2\]; expected \[batch, 3\]/],
      ['mlflow', { inputs: [[1, 'two', 3]] }, /input 'x' holds "two" at flat index 1; expected finite float32 numbers/],
      ['mlflow', '{"inputs": [[1, NaN, 3]]}', /input 'x' holds NaN or Infinity at flat index 1/],
      ['mlflow', '{"inputs": [[1, 2, Infinity]]}', /input 'x' holds NaN or Infinity at flat index 2/],
      ['mlflow', '{"inputs": [[1, 2, 1e999]]}', /input 'x' holds NaN or Infinity at flat index 2/],
      ['mlflow', '{"inputs": [[1, 2, 3]', /malformed JSON/],
      ['mlflow', '', /malformed JSON/],
      ['mlflow', { inputs: { y: [[1, 2, 3]] } }, /input 'x' is missing/],
      ['mlflow', { rows: [] }, /needs one of inputs, instances, dataframe_split, dataframe_records/],
    ];
    for (const [protocol, body, message] of cases) {
      const url = protocol === 'v2' ? `${s.url}/v2/models/lin/infer` : `${s.url}/invocations?model=lin`;
      const r = await post(url, body);
      expect(r.status, String(message)).toBe(400);
      const j = await r.json();
      expect(protocol === 'v2' ? j.error : j.message).toMatch(message);
    }
    // A model with a fixed batch of 1 rejects two rows.
    const fixed = await post(`${s.url}/v2/models/fixed/infer`, { inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6] }] });
    expect(fixed.status).toBe(400);
    expect((await fixed.json()).error).toMatch(/dimension 0 must be 1/);
    expect((await fetch(`${s.url}/v2/health/live`)).status).toBe(200);
  });

  it('answers 413 to a body over --max-body, declared or streamed, and keeps serving', async () => {
    const big = JSON.stringify({ inputs: Array.from({ length: 700 }, () => [1, 2, 3]) });
    expect(big.length).toBeGreaterThan(4096);
    const r = await post(`${s.url}/invocations?model=lin`, big);
    expect(r.status).toBe(413);
    expect((await r.json()).message).toMatch(/limit is 4096 bytes/);
    // Chunked, without content-length.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = request(`${s.url}/invocations?model=lin`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(big.slice(0, 3000));
      req.end(big.slice(3000));
    });
    expect(chunked).toBe(413);
    expect((await post(`${s.url}/invocations?model=lin`, { inputs: [[0, 0, 0]] })).status).toBe(200);
  });

  it('micro-batches concurrent requests and answers each with its own rows', async () => {
    const rows = Array.from({ length: 60 }, (_, i) => [i, i + 1, i % 7]);
    const answers = await Promise.all(rows.map((x) => post(`${s.url}/invocations?model=lin`, { inputs: [x] }).then((r) => r.json())));
    answers.forEach((a, i) => expect(a.predictions).toEqual([expectLinear(rows[i])]));
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const count = Number(/mlo_batch_size_count\{model="lin",version="path"\} (\d+)/.exec(metrics)?.[1]);
    const sum = Number(/mlo_batch_size_sum\{model="lin",version="path"\} (\d+)/.exec(metrics)?.[1]);
    expect(sum).toBeGreaterThanOrEqual(60);
    expect(count).toBeLessThanOrEqual(sum);
  });

  it('exposes Prometheus metrics by model, version and status', async () => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).toMatch(/^# HELP mlo_requests_total/m);
    expect(text).toMatch(/mlo_requests_total\{model="lin",version="path",code="200"\} \d+/);
    expect(text).toMatch(/mlo_requests_total\{model="lin",version="path",code="400"\} \d+/);
    expect(text).toMatch(/mlo_request_errors_total\{model="lin",version="path",code="413"\} 2/);
    expect(text).toMatch(/mlo_request_duration_seconds_bucket\{model="lin",version="path",le="\+Inf"\} \d+/);
    expect(text).toMatch(/mlo_request_duration_seconds_sum\{model="lin",version="path"\} [\d.e-]+/);
    expect(text).toMatch(/# TYPE mlo_batch_size histogram/);
  });

  it('logs sampled requests as JSON lines in the documented format (one per request, rows first)', async () => {
    await post(`${s.url}/v2/models/lin/infer`, { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [7, 8, 9] }] });
    await post(`${s.url}/invocations?model=lin`, {
      inputs: [
        [40, 50, 60],
        [41, 51, 61],
      ],
    });
    await post(`${s.url}/invocations?model=lin`, { inputs: [[1]] });
    await new Promise((r) => setTimeout(r, 200));
    const lines = readFileSync(join(dir, 'serve.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const ok = lines.filter((l) => l.status === 200);
    const last = ok.find((l) => JSON.stringify(l.inputs.x) === '[[7,8,9]]')!;
    expect(Object.keys(last)).toEqual(['ts', 'model', 'version', 'status', 'latency_ms', 'inputs', 'outputs']);
    expect(last).toMatchObject({ model: 'lin', version: null, status: 200, inputs: { x: [[7, 8, 9]] }, outputs: { y: [expectLinear([7, 8, 9])] } });
    expect(new Date(last.ts).toISOString()).toBe(last.ts);
    expect(typeof last.latency_ms).toBe('number');
    // A request of two rows is one line; element i of each array is row i.
    const two = ok.find((l) => l.inputs.x.length === 2 && l.inputs.x[0][2] === 60)!;
    expect(two.inputs).toEqual({
      x: [
        [40, 50, 60],
        [41, 51, 61],
      ],
    });
    expect(two.outputs).toEqual({ y: [expectLinear([40, 50, 60]), expectLinear([41, 51, 61])] });
    expect(lines.some((l) => l.status === 400 && Object.keys(l.inputs).length === 0)).toBe(true);
  });
});

describe('mlo serve start-up checks', () => {
  it('serves a package folder by its name, and refuses one whose model file changed', async () => {
    const dir = tempDir();
    writeTree(dir, { 'lin.onnx': LINEAR });
    expect((await mlo(dir, 'model', 'package', 'lin.onnx', '--name', 'scorer', '-o', 'pkg')).exitCode).toBe(0);
    const s = await serve(dir, ['pkg']);
    try {
      expect(s.info.models[0]).toMatchObject({ name: 'scorer', version: null, ref: 'pkg' });
      expect((await post(`${s.url}/v2/models/scorer/infer`, { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] })).status).toBe(200);
    } finally {
      await s.stop();
    }
    writeTree(dir, { 'pkg/model.onnx': LINEAR_V2 });
    await expect(serve(dir, ['pkg'])).rejects.toThrow(/pkg\/model\.onnx is not the file pkg\/model\.yaml describes/);
    await expect(serve(dir, ['missing.onnx'])).rejects.toThrow(/'missing\.onnx' is not a file, and there is no mlo repository here/);
  });
});

describe('mlo serve with bearer auth', () => {
  it('requires the token from MLO_SERVE_TOKEN everywhere except health', async () => {
    const dir = tempDir();
    writeTree(dir, { 'lin.onnx': LINEAR });
    const s = await serve(dir, ['lin.onnx'], { MLO_SERVE_TOKEN: 's3cret' });
    try {
      const body = { inputs: [[1, 2, 3]] };
      expect((await post(`${s.url}/invocations`, body)).status).toBe(401);
      const wrong = await post(`${s.url}/invocations`, body, { authorization: 'Bearer nope' });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('www-authenticate')).toBe('Bearer');
      expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${s.url}/v2/models/lin`)).status).toBe(401);
      expect((await fetch(`${s.url}/v2/health/ready`)).status).toBe(200);
      const ok = await post(`${s.url}/invocations`, body, { authorization: 'Bearer s3cret' });
      expect(ok.status).toBe(200);
      expect((await ok.json()).predictions).toEqual([expectLinear([1, 2, 3])]);
    } finally {
      await s.stop();
    }
  });
});

describe('mlo serve from the registry', () => {
  let repo: string;
  beforeAll(async () => {
    repo = await makeRepo({ 'v1.onnx': LINEAR, 'v2.onnx': LINEAR_V2 }, { commit: true });
    for (const f of ['v1.onnx', 'v2.onnx']) {
      const p = await mlo(repo, 'model', 'package', f, '--name', 'churn');
      if (p.exitCode !== 0) throw new Error(p.stderr);
      const r = await mlo(repo, 'model', 'register', 'models/churn');
      if (r.exitCode !== 0) throw new Error(r.stderr);
    }
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-qm', 'two versions');
    expect((await mlo(repo, 'model', 'promote', 'churn@1', '--to', 'production', '--reason', 'first')).exitCode).toBe(0);
  });

  it('splits traffic by weight and names the answering version in a header', async () => {
    const s = await serve(repo, ['--split', 'churn@1=90,churn@2=10']);
    try {
      expect(s.info.models.map((m: any) => [m.version, m.weight])).toEqual([
        [1, 90],
        [2, 10],
      ]);
      const seen: Record<string, number> = {};
      for (let i = 0; i < 50; i++) {
        const r = await post(`${s.url}/invocations`, { inputs: [[1, 2, 3]] });
        const v = r.headers.get('x-mlo-model-version')!;
        const { predictions } = await r.json();
        expect(predictions).toEqual(v === '1' ? [expectLinear([1, 2, 3])] : [[2, 4]]);
        seen[v] = (seen[v] ?? 0) + 1;
      }
      // Smooth weighted round-robin: exact proportions.
      expect(seen).toEqual({ '1': 45, '2': 5 });
      const pinned = await post(`${s.url}/v2/models/churn/versions/2/infer`, { inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
      expect(pinned.headers.get('x-mlo-model-version')).toBe('2');
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toContain('mlo_requests_total{model="churn",version="1",code="200"} 45');
      expect(metrics).toContain('mlo_requests_total{model="churn",version="2",code="200"} 6');
    } finally {
      await s.stop();
    }
  });

  it('follows an alias: reloads when it moves', async () => {
    const s = await serve(repo, ['churn@production']);
    try {
      const version = async () => (await post(`${s.url}/invocations`, { inputs: [[1, 2, 3]] })).headers.get('x-mlo-model-version');
      expect(await version()).toBe('1');
      expect((await mlo(repo, 'model', 'promote', 'churn@2', '--to', 'production', '--reason', 'better')).exitCode).toBe(0);
      let v = await version();
      for (let i = 0; i < 100 && v !== '2'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        v = await version();
      }
      expect(v).toBe('2');
      expect(s.stderr()).toMatch(/reloaded churn@production: version 1 -> 2/);
    } finally {
      await s.stop();
    }
  });

  it('refuses an unknown model reference at start-up', async () => {
    await expect(serve(repo, ['churn@staging'])).rejects.toThrow(/churn has no alias 'staging'/);
  });
});

describe('graceful shutdown', () => {
  it('on SIGTERM stops accepting, finishes the request in flight and exits 0', async () => {
    const dir = tempDir();
    writeTree(dir, { 'mlp.onnx': MLP });
    const s = await serve(dir, ['mlp.onnx']);
    const body = JSON.stringify({ inputs: [[1, 2, 3]] });
    // Send the headers and half the body, then signal, then the rest.
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${s.url}/invocations`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        void s.stop('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 300);
    });
    const r = await answer;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).predictions).toHaveLength(1);
    expect(await s.stop()).toBe(0);
    await expect(fetch(`${s.url}/v2/health/live`)).rejects.toThrow();
    expect(s.stderr()).toMatch(/SIGTERM: finishing in-flight requests/);
  });

  it('exits 0 on SIGINT when idle', async () => {
    const dir = tempDir();
    writeTree(dir, { 'lin.onnx': LINEAR });
    const s = await serve(dir, ['lin.onnx']);
    expect((await post(`${s.url}/invocations`, { inputs: [[1, 2, 3]] })).status).toBe(200);
    expect(await s.stop('SIGINT')).toBe(0);
  });
});
