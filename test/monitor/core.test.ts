/**
 * In-process tests of the monitoring core on small files: serve-log rows, column typing in drift,
 * schema inference details, and streaming a file larger than the heap through the built binary.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMloError } from '../../src/base/errors.js';
import { detectDrift } from '../../src/core/monitor/drift.js';
import { inferSchema } from '../../src/core/monitor/infer.js';
import { validateData } from '../../src/core/monitor/schema.js';
import { serveStatus } from '../../src/core/monitor/status.js';
import { CELL_NAMES, readTable } from '../../src/base/tabular/index.js';
import { serveLogRows } from '../../src/core/monitor/servelog.js';
import { mloWith, tempDir, writeTree } from '../helpers.js';

function rowsOf(path: string, file: string, model?: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const batch of readTable(path, { format: 'jsonl', rows: serveLogRows({ file, model }) })) {
    for (let i = 0; i < batch.length; i++) {
      const row: Record<string, string> = {};
      for (const name of batch.names) {
        const col = batch.column(name);
        const kind = col.read(i);
        if (kind !== 0) row[name] = `${CELL_NAMES[kind]}:${col.text(i)}`;
      }
      out.push(row);
    }
  }
  return out;
}

function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isMloError(err)) return err.message;
    throw err;
  }
  throw new Error('expected an MloError');
}

describe('serve-log rows', () => {
  it('splits batches into rows, repeats scalars, expands vectors and prefixes outputs', () => {
    const dir = tempDir();
    writeTree(dir, {
      'serve.log': [
        {
          ts: '2026-11-01T00:00:00Z',
          model: 'm',
          version: 1,
          status: 200,
          inputs: {
            a: [1, 2],
            b: 'x',
            v: [
              [0.5, 1.5],
              [2.5, 3.5],
            ],
          },
          outputs: {
            y: [0, 1],
            p: [
              [0.9, 0.1],
              [0.2, 0.8],
            ],
          },
        },
        { ts: '2026-11-01T00:00:01Z', model: 'm', status: 400, inputs: { a: [9] } },
        { ts: '2026-11-01T00:00:02Z', model: 'n', inputs: { a: 7 }, outputs: null },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    });
    const path = join(dir, 'serve.log');
    expect(rowsOf(path, 'serve.log')).toEqual([
      {
        a: 'int:1',
        b: 'string:x',
        'v[0]': 'float:0.5',
        'v[1]': 'float:1.5',
        'prediction.y': 'int:0',
        'prediction.p[0]': 'float:0.9',
        'prediction.p[1]': 'float:0.1',
      },
      {
        a: 'int:2',
        b: 'string:x',
        'v[0]': 'float:2.5',
        'v[1]': 'float:3.5',
        'prediction.y': 'int:1',
        'prediction.p[0]': 'float:0.2',
        'prediction.p[1]': 'float:0.8',
      },
      { a: 'int:7' },
    ]);
    expect(rowsOf(path, 'serve.log', 'n')).toEqual([{ a: 'int:7' }]);
  });

  it('reads a record whose arrays differ in length as one row of vectors (one line per prediction row)', () => {
    const dir = tempDir();
    writeTree(dir, {
      'serve.log': JSON.stringify({
        ts: '2026-11-01T00:00:00Z',
        model: 'm',
        version: null,
        status: 200,
        inputs: { x: [0.5, 1.5, 2.5] },
        outputs: { label: [1], probs: [0.25, 0.75] },
      }),
    });
    expect(rowsOf(join(dir, 'serve.log'), 'serve.log')).toEqual([
      {
        'x[0]': 'float:0.5',
        'x[1]': 'float:1.5',
        'x[2]': 'float:2.5',
        'prediction.label': 'int:1',
        'prediction.probs[0]': 'float:0.25',
        'prediction.probs[1]': 'float:0.75',
      },
    ]);
  });

  it('names the line and field of a record that does not fit the format', () => {
    const dir = tempDir();
    writeTree(dir, { 'serve.log': '{"ts": "2026-11-01T00:00:00Z", "inputs": {"a": 1}}\n{"ts": 5, "inputs": {}}\n' });
    expect(thrown(() => rowsOf(join(dir, 'serve.log'), 'serve.log'))).toMatch(/^serve\.log:2: ts: Expected string, received number$/);
  });
});

describe('drift column typing', () => {
  it('compares low-cardinality numbers and mixed columns as categories, and honours --numeric', async () => {
    const dir = tempDir();
    const ref = ['k,mixed,n'];
    const cur = ['k,mixed,n'];
    for (let i = 0; i < 300; i++) {
      // n repeats its values: unique integers 0..299 would be an identifier, left out of drift.
      ref.push(`${i % 3},${i % 2 ? 'a' : 1},${i % 150}`);
      cur.push(`${i % 3},${i % 2 ? 'a' : 1},${i % 7 === 0 ? '' : (i + 1) % 150}`);
    }
    writeTree(dir, { 'ref.csv': ref.join('\n'), 'cur.csv': cur.join('\n') });
    const r = await detectDrift({ cwd: dir, reference: 'ref.csv', current: 'cur.csv' });
    expect(r.features.map((f) => [f.column, f.type])).toEqual([
      ['k', 'categorical'],
      ['mixed', 'categorical'],
      ['n', 'numeric'],
    ]);
    expect(r.features[1].histogram.labels?.sort()).toEqual(['1', 'a']);
    expect(r.features[2].current).toMatchObject({ missing: 43, count: 257 });
    expect(r.drift).toBe(false);
    const forced = await detectDrift({ cwd: dir, reference: 'ref.csv', current: 'cur.csv', numeric: ['k'], categorical: ['n'] });
    expect(forced.features.map((f) => f.type)).toEqual(['numeric', 'categorical', 'categorical']);
    await expect(detectDrift({ cwd: dir, reference: 'ref.csv', current: 'cur.csv', numeric: ['mixed'] })).rejects.toThrow(
      "ref.csv: column 'mixed' has a non-numeric value 'a' at row 2",
    );
  });

  it('lists columns that only one side has', async () => {
    const dir = tempDir();
    writeTree(dir, { 'ref.csv': 'a,b\n1,2\n3,4\n', 'cur.jsonl': '{"a": 1, "c": 5}\n{"a": 3, "c": 6}\n' });
    const r = await detectDrift({ cwd: dir, reference: 'ref.csv', current: 'cur.jsonl' });
    expect(r.skipped).toEqual([
      { column: 'b', reason: 'not in cur.jsonl' },
      { column: 'c', reason: 'not in ref.csv' },
    ]);
    expect(r.features.map((f) => f.column)).toEqual(['a']);
  });
});

describe('schema inference and validation in process', () => {
  it('marks JSON-lines columns that appear late as nullable and keeps numeric categories', () => {
    const dir = tempDir();
    writeTree(dir, { 'd.jsonl': '{"a": 1}\n{"a": 2, "b": "x"}\n{"a": 3, "b": "x"}\n{"a": 3, "b": "y"}\n{"a": 1, "b": "x"}\n' });
    const r = inferSchema({ cwd: dir, data: 'd.jsonl', strict: true });
    expect(r.schema.columns.a).toMatchObject({ type: 'int', nullable: false, min: 1, max: 3, unique: false });
    expect(r.schema.columns.b).toMatchObject({ type: 'string', nullable: true, categories: ['x', 'y'] });
    writeTree(dir, {
      's.yaml': 'version: 1\ncolumns:\n  a: {type: int, categories: [1, 2]}\n  b: {type: string, nullable: false}\n',
    });
    const v = validateData({ cwd: dir, data: 'd.jsonl', schema: 's.yaml' });
    expect(v.violations.map((x) => [x.column, x.rule, x.count, x.examples.map((e) => e.row)])).toEqual([
      ['a', 'categories', 2, [3, 4]],
      ['b', 'not_null', 1, [1]],
    ]);
  });

  it('calls unique rising or dense integers and unique text identifiers, and widens the other ranges', () => {
    const dir = tempDir();
    const rows = ['row,code,score,ref,ratio'];
    // row: rising ids; code: unique text; score: unique, unordered, sparse integers (a feature, not an id);
    // ref: unique, shuffled, dense integers (ids in another order); ratio: floats in [0.2, 0.8].
    const refs = [7, 3, 9, 1, 5, 2, 8, 4, 6, 10];
    for (let i = 0; i < 10; i++) rows.push(`${i + 1},c${i},${((i * 7) % 10) ** 2 * 37},${refs[i]},${(0.2 + (0.6 * i) / 9).toFixed(3)}`);
    writeTree(dir, { 'd.csv': `${rows.join('\n')}\n` });
    const { columns } = inferSchema({ cwd: dir, data: 'd.csv' }).schema;
    expect(columns.row).toMatchObject({ role: 'id', unique: true });
    expect(columns.row.min).toBeUndefined();
    expect(columns.code).toMatchObject({ role: 'id', unique: true });
    expect(columns.ref).toMatchObject({ role: 'id' });
    expect(columns.score.role).toBeUndefined();
    // 0..2997, widened by half the range on each side and floored at 0 (never negative).
    expect(columns.score).toMatchObject({ type: 'int', min: 0, max: 4496, unique: false });
    expect(inferSchema({ cwd: dir, data: 'd.csv', strict: true }).schema.columns.score).toMatchObject({ unique: true });
    expect(columns.ratio).toMatchObject({ type: 'float', min: 0, max: 1.1 });
    const strict = inferSchema({ cwd: dir, data: 'd.csv', strict: true }).schema.columns;
    expect(strict.ratio).toMatchObject({ min: 0.2, max: 0.8 });
  });

  it('computes latency percentiles as numpy does', () => {
    const dir = tempDir();
    const lines = [10, 20, 30, 40].map((l, i) => JSON.stringify({ ts: `2026-11-0${i + 1}T00:00:00Z`, model: 'm', status: 200, latency_ms: l }));
    writeTree(dir, { 'serve.log': lines.join('\n') });
    const s = serveStatus({ cwd: dir, log: 'serve.log', now: new Date('2026-11-05T00:00:00Z') });
    expect(s.models[0].latencyMs).toEqual({ p50: 25, p90: expect.closeTo(37, 9), p99: expect.closeTo(39.7, 9) });
    expect(s.models[0].version).toBeNull();
  });
});

describe('streaming', () => {
  it('validates a CSV larger than the JavaScript heap it is given', async () => {
    const dir = tempDir();
    const path = join(dir, 'big.csv');
    const out = createWriteStream(path);
    out.write('id,value,label\n');
    const row = (i: number) => `${i},${(i % 1000) / 7},${i % 3 === 0 ? 'a' : 'b'}\n`;
    let bytes = 0;
    for (let i = 0; bytes < 48 << 20; i++) {
      let chunk = '';
      for (let j = 0; j < 1000; j++) chunk += row(i * 1000 + j);
      bytes += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((ok) => out.once('drain', () => ok()));
    }
    await new Promise<void>((ok) => out.end(() => ok()));
    writeTree(dir, {
      's.yaml': 'version: 1\ncolumns:\n  id: {type: int, min: 0}\n  value: {type: float, max: 142}\n  label: {type: string, categories: [a, b]}\n',
    });
    // 48 MiB of CSV through a 24 MiB heap: holding the file (or its lines as strings) would not fit.
    const r = await mloWith({ cwd: dir, env: { NODE_OPTIONS: '--max-old-space-size=24' } }, 'validate', 'big.csv', '--schema', 's.yaml', '--json');
    expect(r.exitCode, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.rows).toBeGreaterThan(1_500_000);
    expect(report.violations).toEqual([{ column: 'value', rule: 'max', expected: '<= 142', count: expect.any(Number), examples: expect.any(Array) }]);
    expect(report.violations[0].examples[0]).toEqual({ row: 996, value: '142.14285714285714' }); // id 995: 995 / 7 > 142
  });
});
