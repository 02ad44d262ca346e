/**
 * Opening a data file for monitoring: CSV, TSV, JSON lines, or a serve log (JSON lines whose records
 * carry `ts` and `inputs`), all read as the same row batches.
 */
import { isAbsolute, resolve } from 'node:path';
import { usageError } from '../../base/errors.js';
import { detectFormat, readTable, type RowBatch } from '../../base/tabular/index.js';
import { looksLikeServeLog, serveLogRows, type FeatureContracts } from './servelog.js';

export type DataFormat = 'csv' | 'tsv' | 'jsonl' | 'servelog';
export const DATA_FORMATS: readonly DataFormat[] = ['csv', 'tsv', 'jsonl', 'servelog'];

export interface DataSource {
  /** The path as the user gave it (for messages). */
  file: string;
  /** Absolute path. */
  path: string;
  format: DataFormat;
  batches(): Generator<RowBatch>;
  /** Notes on how the data was read (serve logs: positional feature mappings), filled while reading. */
  notes: Set<string>;
}

export interface OpenDataOptions {
  cwd: string;
  format?: DataFormat;
  /** Serve logs: keep only this model's requests. */
  model?: string;
  /** Serve logs: keep only this version's requests (as text). */
  version?: string;
  /** Serve logs: feature contracts by model@version, for logs that name no features. */
  contracts?: FeatureContracts;
  /** The name to use in messages (default: `file` as given). */
  displayName?: string;
}

export function openData(given: string, options: OpenDataOptions): DataSource {
  const path = isAbsolute(given) ? given : resolve(options.cwd, given);
  const file = options.displayName ?? given;
  if (options.format !== undefined && !DATA_FORMATS.includes(options.format)) {
    throw usageError(`unknown format '${options.format}'`, `use one of ${DATA_FORMATS.join(', ')}`);
  }
  let format: DataFormat = options.format ?? detectFormat(path, file);
  if (options.format === undefined && format === 'jsonl' && looksLikeServeLog(path, file)) format = 'servelog';
  const notes = new Set<string>();
  const rows = serveLogRows({ file, model: options.model, version: options.version, contracts: options.contracts, notes });
  const batches = (): Generator<RowBatch> =>
    format === 'servelog'
      ? readTable(path, { format: 'jsonl', displayName: file, rows, skipPartialLastLine: true })
      : readTable(path, { format, displayName: file });
  return { file, path, format, batches, notes };
}
