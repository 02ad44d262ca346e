import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildOnnx } from '../support/onnx-builder.js';
import { exists, git, json, makeRepo, mlo, mloWith, read, tempDir, writeTree } from '../helpers.js';
import { LINEAR, LINEAR_V2 } from './fixtures.js';

describe('mlo model inspect', () => {
  it('reads the protobuf outside a repository, as text and JSON', async () => {
    const dir = tempDir();
    writeTree(dir, { 'm.onnx': LINEAR });
    const r = await mlo(dir, 'model', 'inspect', 'm.onnx', '--json');
    expect(r.exitCode).toBe(0);
    const j = json(r);
    expect(j).toMatchObject({
      path: 'm.onnx',
      size: LINEAR.length,
      algo: 'blake3',
      irVersion: 8,
      producerName: 'mlo',
      opsets: [{ domain: '', version: 13 }],
      inputs: [{ name: 'x', type: 'float32', shape: ['batch', 3] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['batch', 2] }],
    });
    expect(j.hash).toMatch(/^[0-9a-f]{64}$/);
    const text = await mlo(dir, 'model', 'inspect', 'm.onnx');
    expect(text.stdout).toContain('x  float32[batch,3]');
  });

  it('does not load onnxruntime (neither does --help)', async () => {
    const dir = tempDir();
    writeTree(dir, { 'm.onnx': LINEAR });
    for (const args of [['model', 'inspect', 'm.onnx'], ['--help'], ['model', '--help']]) {
      const r = await mloWith({ cwd: dir, env: { NODE_DEBUG: 'module' } }, ...args);
      expect(r.exitCode).toBe(0);
      expect(r.stderr).not.toMatch(/onnxruntime/);
    }
  });

  it('fails clearly on a missing file or a file that is not ONNX', async () => {
    const dir = tempDir();
    writeTree(dir, { 'bad.onnx': 'definitely not protobuf\n' });
    const missing = await mlo(dir, 'model', 'inspect', 'nope.onnx', '--json');
    expect(missing.exitCode).toBe(1);
    expect(json(missing).error.code).toBe('MLO_NOT_FOUND');
    const bad = await mlo(dir, 'model', 'inspect', 'bad.onnx');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/error: not a valid ONNX file/);
  });
});

describe('mlo model package', () => {
  it('writes models/NAME with model.yaml, runs the example, records lineage and tracks the model', async () => {
    const repo = await makeRepo({ 'm.onnx': LINEAR, 'ex.json': JSON.stringify({ x: [[1, 2, 3]] }), 'metrics.json': '{"auc": 0.9}' }, { commit: true });
    const r = await mlo(
      repo,
      'model',
      'package',
      'm.onnx',
      '--name',
      'churn',
      '--example',
      'ex.json',
      '--meta',
      'owner=risk-team',
      '--description',
      'churn model',
      '--json',
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const j = json(r);
    expect(j).toMatchObject({
      name: 'churn',
      dir: 'models/churn',
      modelFile: 'models/churn/model.onnx',
      example: { synthesized: false, outputs: { y: { type: 'float32', shape: [1, 2] } } },
    });
    expect(j.tracked.pointerFile).toBe('models/churn/model.onnx.mlo');
    expect(exists(repo, 'models/churn/model.onnx.mlo')).toBe(true);
    const y = parse(read(repo, 'models/churn/model.yaml'));
    expect(y.schema).toBe(1);
    expect(y.model).toMatchObject({ path: 'model.onnx', algo: 'blake3', size: LINEAR.length, format: 'onnx', ir_version: 8, opsets: { 'ai.onnx': 13 } });
    expect(y.signature.inputs).toEqual([{ name: 'x', type: 'float32', shape: ['batch', 3] }]);
    expect(y.example.inputs).toEqual({ x: [[1, 2, 3]] });
    expect(y.example.outputs).toEqual({ y: [[4.5, 4.5]] });
    expect(y.lineage.git.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(y.lineage.git.dirty).toBe(false);
    expect(y.lineage.metrics).toEqual({ auc: 0.9 });
    expect(y.card).toEqual({ description: 'churn model', meta: { owner: 'risk-team' } });
  });

  it('refuses a model that does not load, with the onnxruntime reason on one line', async () => {
    const broken = buildOnnx({
      inputs: [{ name: 'x', type: 'float32', shape: [1] }],
      outputs: [{ name: 'y', type: 'float32', shape: [1] }],
      nodes: [{ op: 'NoSuchOperator', inputs: ['x'], outputs: ['y'] }],
    });
    const repo = await makeRepo({ 'broken.onnx': Buffer.from(broken) });
    const r = await mlo(repo, 'model', 'package', 'broken.onnx', '--name', 'broken');
    expect(r.exitCode).toBe(1);
    const first = r.stderr.split('\n')[0];
    expect(first).toMatch(/^error: broken\.onnx does not load in onnxruntime: .*NoSuchOperator/);
    expect(exists(repo, 'models/broken')).toBe(false);
  });

  it('refuses an example that does not fit the signature, naming the input', async () => {
    const repo = await makeRepo({ 'm.onnx': LINEAR, 'ex.json': JSON.stringify({ x: [[1, 2]] }) });
    const r = await mlo(repo, 'model', 'package', 'm.onnx', '--name', 'churn', '--example', 'ex.json', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).error).toMatchObject({
      code: 'MLO_BAD_EXAMPLE',
      message: "ex.json: input 'x' has shape [1, 2]; expected [batch, 3] (dimension 1 must be 3)",
    });
  });

  it('synthesizes an input when there is no example, works outside a repo with -o, and checks the name', async () => {
    const dir = tempDir();
    writeTree(dir, { 'm.onnx': LINEAR });
    const r = await mlo(dir, 'model', 'package', 'm.onnx', '--name', 'lin', '-o', 'pkg', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ dir: 'pkg', example: { synthesized: true } });
    expect(json(r).tracked).toBeUndefined();
    expect(parse(read(dir, 'pkg/model.yaml')).example.inputs).toEqual({ x: [[0.125, 1, 0.5]] });
    const bad = await mlo(dir, 'model', 'package', 'm.onnx', '--name', 'Bad Name');
    expect(bad.exitCode).toBe(2);
  });
});

describe('registry commands', () => {
  it('register, list, show, promote and diff, with --json shapes', async () => {
    const repo = await makeRepo({ 'v1.onnx': LINEAR, 'v2.onnx': LINEAR_V2, 'metrics.json': '{"auc": 0.8}', 'params.yaml': 'lr: 0.1\n' }, { commit: true });
    await git(repo, 'config', 'user.name', 'Promo Ter');
    await git(repo, 'config', 'user.email', 'promo@example.com');
    expect((await mlo(repo, 'model', 'package', 'v1.onnx', '--name', 'churn')).exitCode).toBe(0);
    const r1 = await mlo(repo, 'model', 'register', 'models/churn', '--json');
    expect(json(r1)).toMatchObject({ name: 'churn', version: 1, created: true, file: 'registry/churn/versions/1.yaml' });
    writeFileSync(join(repo, 'metrics.json'), '{"auc": 0.86}');
    writeFileSync(join(repo, 'params.yaml'), 'lr: 0.05\n');
    expect((await mlo(repo, 'model', 'package', 'v2.onnx', '--name', 'churn')).exitCode).toBe(0);
    expect(json(await mlo(repo, 'model', 'register', 'models/churn', '--json')).version).toBe(2);

    const promote = await mlo(repo, 'model', 'promote', 'churn@2', '--to', 'production', '--reason', 'auc up', '--json');
    expect(json(promote)).toEqual({ name: 'churn', alias: 'production', version: 2, previous: null, by: 'Promo Ter <promo@example.com>' });
    const audit = read(repo, 'registry/churn/audit.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(audit.at(-1)).toMatchObject({ action: 'promote', alias: 'production', version: 2, by: 'Promo Ter <promo@example.com>', reason: 'auc up' });

    const listed = await mlo(repo, 'model', 'list', '--json');
    const list = json(listed);
    expect(listed.exitCode, listed.stdout + listed.stderr).toBe(0);
    expect(list.models).toMatchObject([{ name: 'churn', versions: 2, latest: 2, aliases: { production: 2 } }]);
    const show = json(await mlo(repo, 'model', 'show', 'churn@production', '--json'));
    expect(show).toMatchObject({
      name: 'churn',
      version: 2,
      aliases: ['production'],
      model: { path: 'models/churn/model.onnx' },
      lineage: { metrics: { auc: 0.86 }, params: { lr: 0.05 } },
    });
    const text = await mlo(repo, 'model', 'show', 'churn@1');
    expect(text.stdout).toContain('churn@1');

    const diff = json(await mlo(repo, 'model', 'diff', 'churn@1', 'churn@production', '--json'));
    expect(diff.metrics).toEqual([{ key: 'auc', a: 0.8, b: 0.86, change: 'modified', delta: expect.closeTo(0.06, 9) }]);
    expect(diff.params).toEqual([{ key: 'lr', a: 0.1, b: 0.05, change: 'modified' }]);
    expect(diff.signature).toEqual([]);
    const diffText = await mlo(repo, 'model', 'diff', 'churn@1', 'churn@2');
    expect(diffText.stdout).toMatch(/auc\s+0\.8\s+0\.86\s+\+0\.06/);

    const unknown = await mlo(repo, 'model', 'show', 'churn@staging', '--json');
    expect(unknown.exitCode).toBe(1);
    expect(json(unknown).error.code).toBe('MLO_UNKNOWN_ALIAS');
    const outside = await mlo(tempDir(), 'model', 'list');
    expect(outside.exitCode).toBe(1);
    expect(outside.stderr).toMatch(/not inside an mlo repository/);
  });
});
