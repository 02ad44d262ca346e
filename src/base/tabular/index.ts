/**
 * Streaming row-batch readers for tabular files (CSV, TSV, JSON lines), shared by validation, drift
 * monitoring and batch prediction. A file is read in bounded chunks; each batch gives columns by name.
 *
 *   for (const batch of readTable('data.csv')) {
 *     const age = batch.column('age');
 *     for (let i = 0; i < batch.length; i++) if (age.read(i) === CELL.int) total += age.num;
 *   }
 */
import { closeSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { openForReading } from '../fs.js';
import { readCsv } from './csv.js';
import { readJsonl, type RowsOf } from './jsonl.js';
import type { ReadOptions, RowBatch, TableFormat } from './types.js';

export * from './types.js';
export { readCsv } from './csv.js';
export { readJsonl, readJsonRecords, jsonType, type JsonRecord, type RowsOf } from './jsonl.js';
export { parseNumber, parseNumberText, NUM } from './number.js';

/** Reads `file` as batches of rows in the given (or detected) format. */
export function readTable(file: string, options: ReadOptions & { rows?: RowsOf; skipPartialLastLine?: boolean } = {}): Generator<RowBatch> {
  const format = options.format ?? detectFormat(file);
  const common = { displayName: options.displayName, chunkBytes: options.chunkBytes };
  if (format === 'jsonl') return readJsonl(file, { ...common, rows: options.rows, skipPartialLastLine: options.skipPartialLastLine });
  return readCsv(file, { ...common, delimiter: format === 'tsv' ? 0x09 : 0x2c });
}

const EXTENSIONS: Record<string, TableFormat> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.tab': 'tsv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
};

/** The format by extension, else by the first non-blank byte (`{` means JSON lines). */
export function detectFormat(file: string, displayName = file): TableFormat {
  const byExt = EXTENSIONS[extname(file).toLowerCase()];
  if (byExt) return byExt;
  return firstByte(file, displayName) === 0x7b ? 'jsonl' : 'csv';
}

function firstByte(file: string, displayName: string): number | undefined {
  const fd = openForReading(file, displayName);
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    for (let i = 0; i < n; i++) {
      const c = buf[i];
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0xef && c !== 0xbb && c !== 0xbf) return c;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
