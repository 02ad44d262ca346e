import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMloError } from '../errors.js';
import { CELL, CELL_NAMES, readTable, type TableFormat } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'mlo-tabular-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function file(content: string | Buffer, ext = 'csv'): string {
  const path = join(dir, `f${n++}.${ext}`);
  writeFileSync(path, content);
  return path;
}

/** Every cell as [kind, text], row by row, plus the source line of each row. */
function readAll(path: string, chunkBytes?: number, format?: TableFormat) {
  const rows: string[][] = [];
  const lines: number[] = [];
  let names: readonly string[] = [];
  for (const batch of readTable(path, { chunkBytes, format })) {
    names = batch.names;
    const cols = names.map((c) => batch.column(c));
    for (let i = 0; i < batch.length; i++) {
      rows.push(cols.map((c) => `${CELL_NAMES[c.read(i)]}:${c.text(i)}`));
      lines.push(batch.line(i));
    }
  }
  // Columns first seen in a later batch (JSON lines) read as null on earlier rows.
  for (const row of rows) while (row.length < names.length) row.push('null:');
  return { names, rows, lines };
}

function error(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isMloError(err)) return err.message;
    throw err;
  }
  throw new Error('expected an MloError');
}

describe('CSV reader', () => {
  const tricky =
    '\ufeffid,name,note,score\r\n' + '1,"Smith, Jo","said ""hi""",0.5\r\n' + '\r\n' + '2,Ann,"two\nlines",\r\n' + '3,,NA,-1e-3\n' + '4,"",true,inf';

  it('handles RFC 4180 quoting, CRLF, blank lines, a BOM and a missing final newline', () => {
    const r = readAll(file(tricky));
    expect(r.names).toEqual(['id', 'name', 'note', 'score']);
    expect(r.rows).toEqual([
      ['int:1', 'string:Smith, Jo', 'string:said "hi"', 'float:0.5'],
      ['int:2', 'string:Ann', 'string:two\nlines', 'null:'],
      ['int:3', 'null:', 'null:NA', 'float:-1e-3'],
      ['int:4', 'null:', 'bool:true', 'float:inf'],
    ]);
    expect(r.lines).toEqual([2, 4, 6, 7]);
  });

  it('gives the same rows whatever the chunk size (records split across reads)', () => {
    const path = file(tricky);
    const whole = readAll(path);
    for (const size of [1, 2, 3, 5, 8, 13, 64]) expect(readAll(path, size), `chunk ${size}`).toEqual(whole);
  });

  it('reads many batches of a larger file', () => {
    const lines = ['a,b'];
    for (let i = 0; i < 5000; i++) lines.push(`${i},${i % 7 === 0 ? '"x,y"' : i * 0.5}`);
    const path = file(lines.join('\n') + '\n');
    let rows = 0;
    let batches = 0;
    let sum = 0;
    for (const batch of readTable(path, { chunkBytes: 4096 })) {
      batches++;
      const a = batch.column('a');
      for (let i = 0; i < batch.length; i++) {
        expect(a.read(i)).toBe(CELL.int);
        sum += a.num;
        expect(batch.firstRow + i).toBe(rows + i + 1);
      }
      rows += batch.length;
    }
    expect(rows).toBe(5000);
    expect(batches).toBeGreaterThan(5);
    expect(sum).toBe((4999 * 5000) / 2);
  });

  it('reads TSV by extension', () => {
    expect(readAll(file('a\tb\n1\tx y\n', 'tsv')).rows).toEqual([['int:1', 'string:x y']]);
  });

  it('names the file and line of a row with the wrong number of fields', () => {
    expect(error(() => readAll(file('a,b\n1,2\n3\n')))).toMatch(/f\d+\.csv:3: expected 2 fields \(as in the header\), found 1/);
  });

  it('reports an unclosed quote, a duplicate column and an empty file', () => {
    expect(error(() => readAll(file('a,b\n1,"oops\n')))).toMatch(/:2: a quoted field is not closed/);
    expect(error(() => readAll(file('a,a\n1,2\n')))).toMatch(/column name 'a' appears twice/);
    expect(error(() => readAll(file('')))).toMatch(/the file is empty/);
    expect(error(() => readAll(file('a,b\n"x"y,2\n')))).toMatch(/:2: unexpected character after the closing quote/);
  });

  it('names a missing file', () => {
    expect(error(() => readAll(join(dir, 'nope.csv')))).toMatch(/nope\.csv: no such file or directory/);
  });

  it('treats a column the batch does not have as all null', () => {
    const [batch] = [...readTable(file('a\n1\n'))];
    expect(batch.column('zzz').read(0)).toBe(CELL.null);
  });
});

describe('JSON lines reader', () => {
  it('reads objects as rows, with columns that appear later', () => {
    const path = file('{"a": 1, "b": "x"}\n\n{"a": 2.5, "c": true}\n{"a": null, "b": [1, 2]}\n', 'jsonl');
    const r = readAll(path);
    expect(r.names).toEqual(['a', 'b', 'c']);
    expect(r.rows).toEqual([
      ['int:1', 'string:x', 'null:'],
      ['float:2.5', 'null:', 'bool:true'],
      ['null:', 'string:[1,2]', 'null:'],
    ]);
    expect(r.lines).toEqual([1, 3, 4]);
    for (const size of [1, 7, 16]) expect(readAll(path, size)).toEqual(r);
  });

  it("reads Python's NaN and Infinity tokens", () => {
    const r = readAll(file('{"x": NaN, "s": "NaN"}\n{"x": -Infinity, "s": "a"}\n', 'jsonl'));
    expect(r.rows).toEqual([
      ['float:NaN', 'string:NaN'],
      ['float:-Infinity', 'string:a'],
    ]);
  });

  it('skips a half-written last line only when asked (a log being appended to)', () => {
    const path = file('{"a": 1}\n{"a": 2}\n{"a": 3, "b', 'jsonl');
    expect(error(() => readAll(path))).toMatch(/:3: invalid JSON/);
    const rows: number[] = [];
    for (const batch of readTable(path, { skipPartialLastLine: true })) for (let i = 0; i < batch.length; i++) rows.push(batch.line(i));
    expect(rows).toEqual([1, 2]);
  });

  it('names the line of invalid JSON or a non-object', () => {
    expect(error(() => readAll(file('{"a": 1}\n{"a": \n', 'jsonl')))).toMatch(/f\d+\.jsonl:2: invalid JSON/);
    expect(error(() => readAll(file('{"a": 1}\n[1]\n', 'jsonl')))).toMatch(/:2: expected a JSON object \(one row per line\), found an array/);
  });

  it('detects JSON lines by content when the extension says nothing', () => {
    expect(readAll(file('{"a": 1}\n', 'log')).rows).toEqual([['int:1']]);
    expect(readAll(file('a\n1\n', 'txt')).rows).toEqual([['int:1']]);
  });
});
