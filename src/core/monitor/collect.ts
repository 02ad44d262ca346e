/**
 * Reading for drift detection: one streaming pass per file; a column is numeric until a non-numeric
 * value shows up. Numeric columns are kept as Float64Arrays (8 bytes a value) because KS needs every
 * value sorted. The reference can be read in a worker thread (collect-worker.ts), so everything a worker
 * sends back is packed into transferable buffers here.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MloError, type ErrorCode } from '../../base/errors.js';
import { CELL, type RowBatch } from '../../base/tabular/index.js';
import { openData, type DataFormat } from './dataset.js';
import type { FeatureContracts } from './servelog.js';
import { sortFloat64 } from './sort.js';

export function columnFilter(o: { columns?: string[]; exclude?: string[] }): (name: string) => boolean {
  const only = o.columns ? new Set(o.columns) : undefined;
  const skip = new Set(o.exclude ?? []);
  return (name) => (only ? only.has(name) : true) && !skip.has(name);
}

export interface Collected {
  rows: number;
  names: string[];
  columns: Map<string, ColumnData>;
  /** How the file was read (the DataSource's notes). */
  notes: string[];
}

/** What a worker needs to read one file (plain data: it crosses a thread boundary). */
export interface CollectJob {
  path: string;
  file: string;
  format: DataFormat;
  model?: string;
  version?: string;
  contracts?: FeatureContracts;
  columns?: string[];
  exclude?: string[];
}

/** Reads one file in this thread (the worker's body, and each serve-log arm). */
export function collectJob(job: CollectJob): Collected {
  const source = openData(job.path, { cwd: '/', format: job.format, model: job.model, version: job.version, contracts: job.contracts, displayName: job.file });
  const c = collectSorted(source.batches(), columnFilter(job));
  c.notes = [...source.notes];
  return c;
}

export interface PackedColumn {
  name: string;
  numeric: boolean;
  values: Float64Array;
  count: number;
  missing: number;
  nan: number;
  categories: Map<string, number>;
  firstText?: { value: string; row: number };
  isSorted: boolean;
}

type Packed = { rows: number; names: string[]; notes: string[]; columns: PackedColumn[] };

export function packCollected(c: Collected): { message: Packed; transfer: ArrayBuffer[] } {
  const columns = [...c.columns.values()].map((d) => ({
    name: d.name,
    numeric: d.numeric,
    values: d.values,
    count: d.count,
    missing: d.missing,
    nan: d.nan,
    categories: d.categories,
    firstText: d.firstText,
    isSorted: d.isSorted,
  }));
  return { message: { rows: c.rows, names: c.names, notes: c.notes, columns }, transfer: columns.map((p) => p.values.buffer as ArrayBuffer) };
}

function unpackCollected(m: Packed): Collected {
  const columns = new Map<string, ColumnData>();
  for (const p of m.columns) {
    const d = new ColumnData(p.name);
    Object.assign(d, {
      numeric: p.numeric,
      values: p.values,
      count: p.count,
      missing: p.missing,
      nan: p.nan,
      categories: p.categories,
      firstText: p.firstText,
      isSorted: p.isSorted,
    });
    columns.set(p.name, d);
  }
  return { rows: m.rows, names: m.names, notes: m.notes, columns };
}

const WORKER_URL = new URL('./collect-worker.js', import.meta.url);

interface WorkerRun {
  result: Promise<Collected>;
  cancel(): Promise<void>;
}

/** Starts `collectJob` in a worker thread; undefined when the compiled worker is absent (tests on sources). */
export async function startWorker(job: CollectJob): Promise<WorkerRun | undefined> {
  if (!existsSync(fileURLToPath(WORKER_URL))) return undefined;
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(WORKER_URL, { workerData: job });
  type Reply = { ok?: Parameters<typeof unpackCollected>[0]; error?: { code?: ErrorCode; message: string; hint?: string; exitCode?: number } };
  const result = new Promise<Collected>((resolve, reject) => {
    worker.once('message', (msg: Reply) => {
      if (msg.ok) resolve(unpackCollected(msg.ok));
      else if (msg.error?.code) reject(new MloError(msg.error.code, msg.error.message, { hint: msg.error.hint, exitCode: msg.error.exitCode }));
      else reject(new Error(msg.error?.message ?? 'the drift worker failed'));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the drift worker stopped (exit code ${code}) without a result`)));
  });
  // If this thread fails first, nobody awaits the result; keep its rejection from being unhandled.
  result.catch(() => undefined);
  return {
    result,
    async cancel() {
      await worker.terminate();
    },
  };
}

export class ColumnData {
  numeric = true;
  values = new Float64Array(1024);
  count = 0;
  missing = 0;
  nan = 0;
  categories = new Map<string, number>();
  /** First value that made the column categorical, for messages. */
  firstText?: { value: string; row: number };
  constructor(readonly name: string) {}

  push(v: number): void {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = v;
  }

  toCategorical(): void {
    if (!this.numeric) return;
    this.numeric = false;
    for (let i = 0; i < this.count; i++) this.addCategory(numberKey(this.values[i]));
    this.values = new Float64Array(0);
    this.count = 0;
  }

  addCategory(key: string): void {
    this.categories.set(key, (this.categories.get(key) ?? 0) + 1);
  }

  isSorted = false;

  sorted(): Float64Array {
    const view = this.values.subarray(0, this.count);
    if (!this.isSorted) {
      sortFloat64(view);
      this.isSorted = true;
    }
    return view;
  }
}

function numberKey(v: number): string {
  return String(v);
}

/** Reads every batch, then sorts the numeric columns (KS and PSI need them sorted). */
export function collectSorted(batches: Generator<RowBatch>, want: (name: string) => boolean): Collected {
  const c = collect(batches, want);
  for (const d of c.columns.values()) if (d.numeric) d.sorted();
  return c;
}

function collect(batches: Generator<RowBatch>, want: (name: string) => boolean): Collected {
  const columns = new Map<string, ColumnData>();
  const names: string[] = [];
  let rows = 0;
  for (const batch of batches) {
    for (const name of batch.names) {
      if (!want(name)) continue;
      let data = columns.get(name);
      if (!data) {
        data = new ColumnData(name);
        // A column first seen in a later batch (JSON lines) was missing on the earlier rows.
        data.missing = rows;
        columns.set(name, data);
        names.push(name);
      }
      readColumn(batch, data);
    }
    rows += batch.length;
  }
  return { rows, names, columns, notes: [] };
}

function readColumn(batch: RowBatch, data: ColumnData): void {
  const col = batch.column(data.name);
  const n = batch.length;
  let i = 0;
  if (data.numeric) {
    for (; i < n; i++) {
      const k = col.read(i);
      if (k === CELL.int || k === CELL.float) {
        const v = col.num;
        if (Number.isNaN(v)) data.nan++;
        else data.push(v);
      } else if (k === CELL.null) data.missing++;
      else {
        data.firstText = { value: col.text(i), row: batch.firstRow + i };
        data.toCategorical();
        break;
      }
    }
  }
  for (; i < n; i++) {
    const k = col.read(i);
    if (k === CELL.null) data.missing++;
    else if (k === CELL.int || k === CELL.float) {
      if (Number.isNaN(col.num)) data.nan++;
      else data.addCategory(numberKey(col.num));
    } else if (k === CELL.bool) data.addCategory(col.num ? 'true' : 'false');
    else data.addCategory(col.text(i));
  }
}
