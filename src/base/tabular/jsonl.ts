/**
 * Streaming JSON lines reader: one JSON value per line, read in fixed-size chunks so a file larger than
 * memory works. Objects become rows (keys are columns); a caller-supplied `rows` hook can turn one
 * record into several rows (the serve log's per-request batches do).
 */
import { closeSync, readSync } from 'node:fs';
import { MloError } from '../errors.js';
import { openForReading } from '../fs.js';
import { utf8 } from './number.js';
import { CELL, type CellKind, type Column, type RowBatch } from './types.js';
import { nullColumn } from './csv.js';

export interface JsonRecord {
  value: unknown;
  /** 1-based line number. */
  line: number;
}

export interface JsonlOptions {
  displayName?: string;
  chunkBytes?: number;
  /**
   * Skip a last line that has no newline and is not valid JSON: a log being appended to while we read
   * it ends with a half-written line. Off for data files, where it would hide a truncated file.
   */
  skipPartialLastLine?: boolean;
}

/** Yields every non-blank line of `file` parsed as JSON; throws MloError naming file:line on bad JSON. */
export function* readJsonRecords(file: string, options: JsonlOptions = {}): Generator<JsonRecord> {
  for (const chunk of readJsonChunks(file, options)) yield* chunk;
}

/** The same records, grouped per chunk read (one batch per chunk keeps batches a bounded size). */
export function* readJsonChunks(file: string, options: JsonlOptions = {}): Generator<JsonRecord[]> {
  const name = options.displayName ?? file;
  const fd = openForReading(file, name);
  try {
    let buf = Buffer.allocUnsafe(options.chunkBytes ?? 4 << 20);
    let len = 0;
    let eof = false;
    let line = 1;
    let first = true;
    while (!eof || len > 0) {
      while (!eof && len < buf.length) {
        const n = readSync(fd, buf, len, buf.length - len, null);
        if (n === 0) eof = true;
        len += n;
      }
      let start = 0;
      if (first && len >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
      first = false;
      const records: JsonRecord[] = [];
      for (;;) {
        let end = buf.indexOf(0x0a, start);
        if (end < 0 || end >= len) {
          if (!eof) break;
          end = len;
        }
        if (end > start) {
          const text = utf8(buf, start, end);
          const partial = options.skipPartialLastLine === true && end === len && eof;
          if (text.trim() !== '' && !(partial && !isJson(text))) records.push({ value: parseLine(text, name, line), line });
        }
        line++;
        start = end + 1;
        if (start >= len) break;
      }
      if (records.length) yield records;
      if (start >= len) {
        len = 0;
        continue;
      }
      const rest = len - start;
      if (start === 0) {
        // One line longer than the buffer: grow it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      } else buf.copy(buf, 0, start, len);
      len = rest;
    }
  } finally {
    closeSync(fd);
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Values JSON cannot spell but Python's json module writes (NaN, Infinity); kept as sentinel strings. */
export const NAN_SENTINEL = '\u0000NaN';
export const POS_INF_SENTINEL = '\u0000Infinity';
export const NEG_INF_SENTINEL = '\u0000-Infinity';

function parseLine(text: string, name: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const lenient = replaceNonFinite(text);
    if (lenient !== undefined) {
      try {
        return JSON.parse(lenient);
      } catch {
        // Fall through to the original message.
      }
    }
    const detail = err instanceof Error ? err.message : String(err);
    throw new MloError('MLO_BAD_JSON', `${name}:${line}: invalid JSON: ${detail}`, {
      hint: 'each line must hold one JSON value (JSON lines format)',
    });
  }
}

/** Rewrites bare NaN / Infinity / -Infinity tokens (outside strings) as sentinel strings; undefined if none. */
function replaceNonFinite(text: string): string | undefined {
  let out = '';
  let last = 0;
  let inString = false;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    let token: string | undefined;
    let sentinel = '';
    if (text.startsWith('NaN', i)) [token, sentinel] = ['NaN', NAN_SENTINEL];
    else if (text.startsWith('-Infinity', i)) [token, sentinel] = ['-Infinity', NEG_INF_SENTINEL];
    else if (text.startsWith('Infinity', i)) [token, sentinel] = ['Infinity', POS_INF_SENTINEL];
    if (token) {
      out += text.slice(last, i) + JSON.stringify(sentinel);
      i += token.length - 1;
      last = i + 1;
      found = true;
    }
  }
  return found ? out + text.slice(last) : undefined;
}

export type RowsOf = (record: unknown, line: number) => Record<string, unknown>[];

/** Default: each line is an object and is one row. */
export function objectRows(name: string): RowsOf {
  return (record, line) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new MloError('MLO_BAD_JSON', `${name}:${line}: expected a JSON object (one row per line), found ${jsonType(record)}`, {
        hint: 'write each row as {"column": value, ...}',
      });
    }
    return [record as Record<string, unknown>];
  };
}

export function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Reads JSON lines as row batches; `rows` turns each record into rows (default: the object itself). */
export function* readJsonl(file: string, options: JsonlOptions & { rows?: RowsOf } = {}): Generator<RowBatch> {
  const name = options.displayName ?? file;
  const rowsOf = options.rows ?? objectRows(name);
  const names: string[] = [];
  const known = new Set<string>();
  let firstRow = 1;
  for (const records of readJsonChunks(file, options)) {
    const values = new Map<string, unknown[]>();
    const lines: number[] = [];
    for (const { value, line } of records) {
      for (const row of rowsOf(value, line)) {
        const i = lines.length;
        lines.push(line);
        for (const key in row) {
          if (!known.has(key)) {
            known.add(key);
            names.push(key);
          }
          let col = values.get(key);
          if (!col) values.set(key, (col = []));
          col[i] = row[key];
        }
      }
    }
    if (lines.length === 0) continue;
    yield new JsonBatch([...names], lines, firstRow, values);
    firstRow += lines.length;
  }
}

class JsonBatch implements RowBatch {
  readonly length: number;
  private readonly cols = new Map<string, Column>();
  constructor(
    readonly names: readonly string[],
    private readonly lines: number[],
    readonly firstRow: number,
    private readonly values: Map<string, unknown[]>,
  ) {
    this.length = lines.length;
  }

  column(name: string): Column {
    let col = this.cols.get(name);
    if (!col) {
      const values = this.values.get(name);
      col = values ? new JsonColumn(name, values, this.length) : nullColumn(name, this.length);
      this.cols.set(name, col);
    }
    return col;
  }

  line(i: number): number {
    return this.lines[i];
  }
}

class JsonColumn implements Column {
  num = NaN;
  constructor(
    readonly name: string,
    private readonly values: unknown[],
    readonly length: number,
  ) {}

  read(i: number): CellKind {
    const v = this.values[i];
    switch (typeof v) {
      case 'number':
        this.num = v;
        return Number.isInteger(v) ? CELL.int : CELL.float;
      case 'boolean':
        this.num = v ? 1 : 0;
        return CELL.bool;
      case 'string':
        if (v.charCodeAt(0) === 0) {
          const special = v === NAN_SENTINEL ? NaN : v === POS_INF_SENTINEL ? Infinity : v === NEG_INF_SENTINEL ? -Infinity : undefined;
          if (special !== undefined) {
            this.num = special;
            return CELL.float;
          }
        }
        this.num = NaN;
        return CELL.string;
      case 'undefined':
        this.num = NaN;
        return CELL.null;
      default:
        this.num = NaN;
        return v === null ? CELL.null : CELL.string;
    }
  }

  text(i: number): string {
    const v = this.values[i];
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') {
      if (v === NAN_SENTINEL) return 'NaN';
      if (v === POS_INF_SENTINEL) return 'Infinity';
      if (v === NEG_INF_SENTINEL) return '-Infinity';
      return v;
    }
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}
