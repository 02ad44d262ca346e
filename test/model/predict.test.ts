import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { json, makeRepo, mlo, read, tempDir, writeTree } from '../helpers.js';
import { LINEAR, LINEAR_V2, expectLinear } from './fixtures.js';

const parseCsv = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => l.split(','));

describe('mlo predict', () => {
  it('streams a CSV through a model file outside a repo, taking the numeric columns in order', async () => {
    const dir = tempDir();
    const rows = Array.from({ length: 2500 }, (_, i) => [i % 10, (i * 3) % 7, i % 5]);
    writeTree(dir, {
      'lin.onnx': LINEAR,
      'data.csv': `id,a,b,c,label\n${rows.map((r, i) => `row${i},${r.join(',')},${i % 2 ? 'yes' : 'no'}`).join('\n')}\n`,
    });
    const r = await mlo(dir, 'predict', 'lin.onnx', '--input', 'data.csv', '--output', 'out.csv', '--batch-size', '1000', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ rows: 2500, batches: 3, output: 'out.csv', inputs: { x: ['a', 'b', 'c'] }, outputColumns: ['y_0', 'y_1'] });
    const out = parseCsv(read(dir, 'out.csv'));
    expect(out[0]).toEqual(['y_0', 'y_1']);
    expect(out.length).toBe(2501);
    for (const i of [0, 1, 999, 1000, 2499]) expect(out[i + 1].map(Number)).toEqual(expectLinear(rows[i]));
  });

  it('takes --columns in the given order, reads JSON lines and writes JSON lines', async () => {
    const dir = tempDir();
    writeTree(dir, {
      'lin.onnx': LINEAR,
      'data.jsonl': '{"c": 3, "b": 2, "a": 1, "extra": 100}\n{"c": 6, "b": 5, "a": 4, "extra": 100}\n',
    });
    const r = await mlo(dir, 'predict', 'lin.onnx', '-i', 'data.jsonl', '-o', 'out.jsonl', '--columns', 'a,b,c');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Wrote 2 predictions to out.jsonl/);
    const lines = read(dir, 'out.jsonl')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { y_0: expectLinear([1, 2, 3])[0], y_1: expectLinear([1, 2, 3])[1] },
      { y_0: expectLinear([4, 5, 6])[0], y_1: expectLinear([4, 5, 6])[1] },
    ]);
  });

  it('names the file, line and column of a bad cell, and leaves no partial output', async () => {
    const dir = tempDir();
    writeTree(dir, { 'lin.onnx': LINEAR, 'data.csv': 'a,b,c\n1,2,3\n4,,6\n' });
    const r = await mlo(dir, 'predict', 'lin.onnx', '-i', 'data.csv', '-o', 'out.csv', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).error).toMatchObject({ code: 'MLO_BAD_INPUT', message: "data.csv:3: column 'b' holds an empty value; input 'x' needs float32 numbers" });
    const few = await mlo(dir, 'predict', 'lin.onnx', '-i', 'data.csv', '-o', 'out.csv', '--columns', 'a,b', '--json');
    expect(json(few).error.message).toMatch(/input 'x' takes 3 features but --columns names 2/);
    const missing = await mlo(dir, 'predict', 'lin.onnx', '-i', 'data.csv', '-o', 'out.csv', '--columns', 'a,b,z', '--json');
    expect(json(missing).error.message).toBe("data.csv has no column 'z'");
    expect(tempDirFiles(dir)).not.toContain('out.csv');
  });

  it('predicts with a registered version by reference', async () => {
    const repo = await makeRepo({ 'v1.onnx': LINEAR, 'v2.onnx': LINEAR_V2, 'data.csv': 'a,b,c\n1,2,3\n' }, { commit: true });
    for (const f of ['v1.onnx', 'v2.onnx']) {
      expect((await mlo(repo, 'model', 'package', f, '--name', 'churn')).exitCode).toBe(0);
      expect((await mlo(repo, 'model', 'register', 'models/churn')).exitCode).toBe(0);
    }
    expect((await mlo(repo, 'predict', 'churn@1', '-i', 'data.csv', '-o', 'p1.csv')).exitCode).toBe(0);
    expect((await mlo(repo, 'predict', 'churn', '-i', 'data.csv', '-o', 'p2.csv')).exitCode).toBe(0);
    expect(parseCsv(read(repo, 'p1.csv'))[1].map(Number)).toEqual(expectLinear([1, 2, 3]));
    expect(parseCsv(read(repo, 'p2.csv'))[1].map(Number)).toEqual([2, 4]);
  });
});

function tempDirFiles(dir: string): string[] {
  return readdirSync(dir);
}
