/**
 * Streaming CSV (RFC 4180) reader working on bytes: fixed-size reads into one reusable Buffer, fields
 * recorded as byte offsets, text decoded only when a caller asks for it. Quoted fields may hold the
 * delimiter, doubled quotes and line breaks; CRLF and LF line ends both work; blank lines are skipped;
 * a UTF-8 byte-order mark is ignored. The first record is the header.
 */
import { closeSync, readSync } from 'node:fs';
import { MloError } from '../errors.js';
import { openForReading } from '../fs.js';
import { NUM, numKind, parseNumber, utf8 } from './number.js';
import { CELL, type CellKind, type Column, type RowBatch } from './types.js';

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** Field flags: quoted, and quoted with doubled quotes inside (text needs unescaping). */
const QUOTED = 1;
const ESCAPED = 2;

export interface CsvOptions {
  delimiter?: number;
  displayName?: string;
  chunkBytes?: number;
}

/** Reads `file` as CSV and yields batches of rows; throws MloError naming file:line on malformed input. */
export function* readCsv(file: string, options: CsvOptions = {}): Generator<RowBatch> {
  const name = options.displayName ?? file;
  const fd = openForReading(file, name);
  try {
    // 256 KiB batches: a batch (bytes plus field offsets) stays in cache while callers walk it column
    // by column. Reading and parsing 1M rows x 30 numbers measured 1.4 s of CPU with 4 MiB batches,
    // 1.15 s with 256 KiB.
    yield* parseCsv(fd, name, options.delimiter ?? 0x2c, options.chunkBytes ?? 256 << 10);
  } finally {
    closeSync(fd);
  }
}

function* parseCsv(fd: number, name: string, delimiter: number, chunkBytes: number): Generator<RowBatch> {
  let buf = Buffer.allocUnsafe(chunkBytes);
  let len = 0; // valid bytes in buf
  let eof = false;
  let line = 1; // line number at buf[0]

  const fill = () => {
    while (!eof && len < buf.length) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) eof = true;
      len += n;
    }
  };
  fill();
  let start = 0;
  if (len >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;

  // Field offsets of the records parsed so far: starts/ends per field, flags per field, line per row.
  let starts = new Int32Array(1 << 16);
  let ends = new Int32Array(1 << 16);
  let flags = new Uint8Array(1 << 16);
  let lines = new Int32Array(1 << 12);
  let ncols = -1;
  let header: string[] = [];
  let firstRow = 1;
  // Bytes that end an unquoted field; one table load per byte is the scan's inner loop.
  const stops = new Uint8Array(256);
  stops[delimiter] = stops[LF] = stops[CR] = 1;

  for (;;) {
    // Parse every complete record in buf[start, len).
    let p = start;
    let rows = 0;
    let nf = 0; // fields stored
    let incomplete = false;
    let cur = line;
    while (p < len) {
      const c0 = buf[p];
      if (c0 === LF || c0 === CR) {
        // Blank line.
        p++;
        if (c0 === CR && p < len && buf[p] === LF) p++;
        else if (c0 === CR && p === len && !eof) {
          p--;
          incomplete = true;
          break;
        }
        cur++;
        continue;
      }
      const recStart = p;
      const recLine = cur;
      const recFields = nf;
      let done = false;
      while (!done) {
        if (nf + 1 >= starts.length) {
          starts = grow(starts);
          ends = grow(ends);
          flags = growBytes(flags);
        }
        let fs: number;
        let fe: number;
        let fl = 0;
        if (buf[p] === QUOTE) {
          fl = QUOTED;
          p++;
          fs = p;
          for (;;) {
            while (p < len && buf[p] !== QUOTE) {
              if (buf[p] === LF) cur++;
              p++;
            }
            if (p + 1 >= len && !eof) {
              // The closing quote (or what follows it) is not in the buffer yet.
              p = len;
              break;
            }
            if (p >= len) {
              throw new MloError('MLO_BAD_CSV', `${name}:${recLine}: a quoted field is not closed before the end of the file`, {
                hint: 'close the quote, or double quotes inside a quoted field ("") as RFC 4180 asks',
              });
            }
            if (buf[p + 1] === QUOTE) {
              fl = QUOTED | ESCAPED;
              p += 2;
              continue;
            }
            break;
          }
          if (p >= len) {
            incomplete = true;
            break;
          }
          fe = p;
          p++; // closing quote
          if (p < len && buf[p] !== delimiter && buf[p] !== LF && buf[p] !== CR) {
            throw new MloError('MLO_BAD_CSV', `${name}:${cur}: unexpected character after the closing quote of field ${nf - recFields + 1}`, {
              hint: 'a quoted field must end right before the delimiter or the line end; double quotes inside it ("")',
            });
          }
        } else {
          fs = p;
          while (p < len && stops[buf[p]] === 0) p++;
          fe = p;
        }
        starts[nf] = fs;
        ends[nf] = fe;
        flags[nf] = fl;
        nf++;
        if (p >= len) {
          if (!eof) {
            incomplete = true;
            break;
          }
          done = true;
        } else {
          const c = buf[p];
          if (c === delimiter) p++;
          else {
            if (c === CR) {
              if (p + 1 >= len && !eof) {
                incomplete = true;
                break;
              }
              p++;
              if (p < len && buf[p] === LF) p++;
            } else p++;
            cur++;
            done = true;
          }
        }
      }
      if (incomplete) {
        p = recStart;
        nf = recFields;
        cur = recLine;
        break;
      }
      const fields = nf - recFields;
      if (ncols < 0) {
        header = readHeader(buf, starts, ends, flags, fields, name, recLine);
        ncols = fields;
        nf = 0;
        continue;
      }
      if (fields !== ncols) {
        throw new MloError('MLO_BAD_CSV', `${name}:${recLine}: expected ${ncols} fields (as in the header), found ${fields}`, {
          hint: 'quote fields that contain the delimiter or a line break (RFC 4180), or fix the row',
        });
      }
      if (rows >= lines.length) lines = grow(lines);
      lines[rows++] = recLine;
    }

    if (rows > 0) {
      yield new CsvBatch(buf, header, ncols, rows, firstRow, starts, ends, flags, lines);
      firstRow += rows;
    }
    if (eof && p >= len) break;
    if (!incomplete && p >= len) {
      // Consumed everything; read more.
      len = 0;
      start = 0;
      line = cur;
      fill();
      if (len === 0) break;
      continue;
    }
    // Keep the incomplete record: move it to the front (growing the buffer when it fills it) and read on.
    const rest = len - p;
    if (p === 0 || rest > buf.length / 2) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, p, len);
      buf = bigger;
    } else {
      buf.copy(buf, 0, p, len);
    }
    len = rest;
    start = 0;
    line = cur;
    const before = len;
    fill();
    if (len === before && eof && incomplete) {
      // Cannot happen: at eof the record is complete. Guard against looping forever.
      throw new MloError('MLO_BAD_CSV', `${name}:${line}: truncated record at the end of the file`);
    }
  }
  if (ncols < 0) {
    throw new MloError('MLO_BAD_CSV', `${name}: the file is empty (a CSV file needs a header line)`, {
      hint: 'write the column names on the first line',
    });
  }
}

function readHeader(buf: Buffer, starts: Int32Array, ends: Int32Array, flags: Uint8Array, fields: number, name: string, line: number): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  for (let f = 0; f < fields; f++) {
    let text = fieldText(buf, starts[f], ends[f], flags[f]);
    if (!(flags[f] & QUOTED)) text = text.trim();
    if (text === '') {
      throw new MloError('MLO_BAD_CSV', `${name}:${line}: column ${f + 1} of the header has no name`, {
        hint: 'the first line must name every column',
      });
    }
    if (seen.has(text)) {
      throw new MloError('MLO_BAD_CSV', `${name}:${line}: column name '${text}' appears twice in the header`, {
        hint: 'rename one of the columns',
      });
    }
    seen.add(text);
    names.push(text);
  }
  return names;
}

function fieldText(buf: Buffer, s: number, e: number, fl: number): string {
  const text = utf8(buf, s, e);
  return fl & ESCAPED ? text.replaceAll('""', '"') : text;
}

function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

function growBytes(a: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(a.length * 2);
  b.set(a);
  return b;
}

class CsvBatch implements RowBatch {
  private readonly cols = new Map<string, Column>();
  constructor(
    private readonly buf: Buffer,
    readonly names: readonly string[],
    private readonly ncols: number,
    readonly length: number,
    readonly firstRow: number,
    private readonly starts: Int32Array,
    private readonly ends: Int32Array,
    private readonly flags: Uint8Array,
    private readonly lines: Int32Array,
  ) {}

  column(name: string): Column {
    let col = this.cols.get(name);
    if (!col) {
      const index = this.names.indexOf(name);
      col = index < 0 ? nullColumn(name, this.length) : new CsvColumn(name, this, index);
      this.cols.set(name, col);
    }
    return col;
  }

  line(i: number): number {
    return this.lines[i];
  }

  /** The buffers a column reads from. */
  get state() {
    return { buf: this.buf, starts: this.starts, ends: this.ends, flags: this.flags, ncols: this.ncols };
  }
}

class CsvColumn implements Column {
  num = NaN;
  readonly length: number;
  private readonly buf: Buffer;
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly flags: Uint8Array;
  private readonly stride: number;
  constructor(
    readonly name: string,
    batch: CsvBatch,
    private readonly index: number,
  ) {
    const s = batch.state;
    this.length = batch.length;
    this.buf = s.buf;
    this.starts = s.starts;
    this.ends = s.ends;
    this.flags = s.flags;
    this.stride = s.ncols;
  }

  read(i: number): CellKind {
    const k = i * this.stride + this.index;
    const s = this.starts[k];
    const e = this.ends[k];
    if (s === e) {
      this.num = NaN;
      return CELL.null;
    }
    const v = parseNumber(this.buf, s, e);
    if (numKind !== NUM.none) {
      this.num = v;
      return numKind === NUM.int ? CELL.int : CELL.float;
    }
    return classifyWord(this, this.buf, s, e);
  }

  text(i: number): string {
    const k = i * this.stride + this.index;
    return fieldText(this.buf, this.starts[k], this.ends[k], this.flags[k]);
  }
}

/** CSV spellings of a missing value besides the empty field (what pandas and R write). */
const NULL_WORDS = new Set(['NA', 'N/A', 'null', 'NULL', 'None', '<NA>']);
const TRUE_WORDS = new Set(['true', 'True', 'TRUE']);
const FALSE_WORDS = new Set(['false', 'False', 'FALSE']);

function classifyWord(col: CsvColumn, buf: Buffer, s: number, e: number): CellKind {
  col.num = NaN;
  // Only short words can be null or bool; avoid decoding long strings.
  if (e - s > 5) return CELL.string;
  const w = utf8(buf, s, e).trim();
  if (w === '' || NULL_WORDS.has(w)) return CELL.null;
  if (TRUE_WORDS.has(w)) {
    col.num = 1;
    return CELL.bool;
  }
  if (FALSE_WORDS.has(w)) {
    col.num = 0;
    return CELL.bool;
  }
  return CELL.string;
}

/** A column that is absent: every cell is null. */
export function nullColumn(name: string, length: number): Column {
  return {
    name,
    length,
    num: NaN,
    read: () => CELL.null,
    text: () => '',
  };
}
