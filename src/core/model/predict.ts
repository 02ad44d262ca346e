/**
 * `mlo predict`: batch inference over a CSV/TSV/JSON-lines file, streamed (src/core/tabular reads it in
 * bounded chunks) and written as it goes, so a file larger than memory works. Columns map to inputs by
 * the signature: a single 2-D input takes `--columns`, else the package's feature columns, else every
 * numeric column in order when their count is the input's width (with a warning); several inputs take
 * the columns named after them. Columns are matched by name once, before the first row, so the per-row
 * loop costs the same whatever the file's column order.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { MloError } from '../../base/errors.js';
import { tempName } from '../../base/fs.js';
import { CELL, readTable, type RowBatch } from '../../base/tabular/index.js';
import type { Signature } from './codec.js';
import type { TensorSpec } from './onnx.js';
import { allocate, isFreeDim, loadSession, ortReason, type TypedArray } from './runtime.js';

export interface PredictOptions {
  cwd: string;
  /** The model: bytes plus signature, already resolved by the caller (path or registry reference). */
  model: { bytes: Uint8Array; signature: Signature; label: string };
  input: string;
  output: string;
  batchSize?: number;
  columns?: string[];
  onProgress?: (rows: number) => void;
}

export interface PredictResult {
  rows: number;
  batches: number;
  output: string;
  inputs: Record<string, string[]>;
  /** Columns of the input file that feed no input (ids, labels, anything the model does not take). */
  ignored: string[];
  /** How columns were matched when that is worth a second look (by position, renamed by --columns). */
  warnings: string[];
  outputColumns: string[];
  seconds: number;
}

interface Binding {
  spec: TensorSpec;
  columns: string[];
  /** Values per row (product of the non-batch dims). */
  width: number;
}

export async function predictFile(options: PredictOptions): Promise<PredictResult> {
  const started = performance.now();
  const sig = options.model.signature;
  const batchSize = options.batchSize ?? 1024;
  for (const spec of sig.inputs) {
    if (!spec.shape || spec.shape.length === 0 || !isFreeDim(spec.shape[0])) {
      if (!(spec.shape && spec.shape[0] === 1 && batchSize === 1)) {
        throw new MloError(
          'MLO_NOT_BATCHABLE',
          `input '${spec.name}' of ${options.model.label} has no free batch dimension (shape ${JSON.stringify(spec.shape ?? null)})`,
          {
            hint: 'export the model with a dynamic first dimension, or run with --batch-size 1 if its first dimension is 1',
          },
        );
      }
    }
    if (spec.type === 'string') throw new MloError('MLO_UNSUPPORTED', `input '${spec.name}' is a string tensor; mlo predict feeds numeric inputs only`);
  }
  const loaded = await loadSession(options.model.bytes, sig, { label: options.model.label });
  const inputFile = resolve(options.cwd, options.input);
  const outputFile = resolve(options.cwd, options.output);
  const jsonOut = ['.jsonl', '.ndjson', '.json'].includes(extname(outputFile).toLowerCase());
  const tmp = tempName(outputFile);
  const fd = openSync(tmp, 'wx');
  let bindings: Binding[] | undefined;
  const warnings: string[] = [];
  let ignored: string[] = [];
  let outputColumns: string[] = [];
  let rows = 0;
  let batches = 0;
  let pending = '';
  const flush = (force: boolean) => {
    if (pending.length > (force ? 0 : 1 << 20)) {
      writeSync(fd, pending);
      pending = '';
    }
  };
  try {
    // Buffers for one model batch, filled row by row across reader batches.
    let buffers: TypedArray[] = [];
    let filled = 0;
    const run = async (n: number) => {
      const feeds: Record<string, ort.Tensor> = {};
      bindings!.forEach((b, i) => {
        const data = n === batchSize ? buffers[i] : buffers[i].subarray(0, n * b.width);
        const tail = b.spec.shape!.slice(1).map((d) => (isFreeDim(d) ? b.width : (d as number)));
        feeds[b.spec.name] = new ort.Tensor(b.spec.type as 'float32', data as Float32Array, [n, ...tail]);
      });
      let out: ort.InferenceSession.OnnxValueMapType;
      try {
        out = await loaded.session.run(feeds);
      } catch (err) {
        throw new MloError('MLO_MODEL_RUN', `${options.model.label} failed on rows ${rows + 1}-${rows + n} of ${options.input}: ${ortReason(err)}`);
      }
      const tensors = sig.outputs.map((o) => out[o.name] as ort.Tensor);
      if (batches === 0) {
        outputColumns = [];
        tensors.forEach((t, i) => {
          const width = t.dims.length <= 1 ? 1 : t.data.length / n;
          const name = sig.outputs[i].name;
          if (width === 1) outputColumns.push(name);
          else for (let j = 0; j < width; j++) outputColumns.push(`${name}_${j}`);
        });
        if (!jsonOut) pending += `${outputColumns.map(csvCell).join(',')}\n`;
      }
      pending += formatRows(tensors, n, outputColumns, jsonOut);
      flush(false);
      rows += n;
      batches++;
      options.onProgress?.(rows);
    };

    for (const batch of readTable(inputFile, { displayName: options.input })) {
      if (!bindings) {
        bindings = bind(sig, batch, options, warnings);
        const used = new Set(bindings.flatMap((b) => b.columns));
        ignored = batch.names.filter((n) => !used.has(n));
        buffers = bindings.map((b) => allocate(b.spec.type, batchSize * b.width));
      }
      const cols = bindings.map((b) => b.columns.map((c) => batch.column(c)));
      for (let r = 0; r < batch.length; r++) {
        for (let bi = 0; bi < bindings.length; bi++) {
          const b = bindings[bi];
          const buf = buffers[bi];
          const colsOf = cols[bi];
          const isInt = b.spec.type !== 'float32' && b.spec.type !== 'float64';
          const big = b.spec.type === 'int64' || b.spec.type === 'uint64';
          let at = filled * b.width;
          for (let c = 0; c < colsOf.length; c++) {
            const col = colsOf[c];
            const kind = col.read(r);
            if (kind === CELL.null || kind === CELL.string || (isInt && kind !== CELL.int && kind !== CELL.bool)) {
              throw new MloError(
                'MLO_BAD_INPUT',
                `${options.input}:${batch.line(r)}: column '${col.name}' holds ${kind === CELL.null ? 'an empty value' : JSON.stringify(col.text(r))}; input '${b.spec.name}' needs ${b.spec.type} numbers`,
                {
                  hint: 'clean or impute the column first, or choose the feature columns with --columns',
                },
              );
            }
            if (big) (buf as BigInt64Array)[at++] = BigInt(col.num);
            else (buf as Float32Array)[at++] = col.num;
          }
        }
        if (++filled === batchSize) {
          await run(filled);
          filled = 0;
        }
      }
    }
    if (filled > 0) await run(filled);
    if (!bindings) throw new MloError('MLO_EMPTY_INPUT', `${options.input} has no rows`);
    flush(true);
    closeSync(fd);
    renameSync(tmp, outputFile);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    await loaded.session.release();
  }
  return {
    rows,
    batches,
    output: options.output,
    inputs: Object.fromEntries(bindings!.map((b) => [b.spec.name, b.columns])),
    ignored,
    warnings,
    outputColumns,
    seconds: (performance.now() - started) / 1000,
  };
}

function bind(sig: Signature, batch: RowBatch, options: PredictOptions, notes: string[]): Binding[] {
  const names = batch.names;
  const absent = (cols: string[]) => cols.filter((c) => !names.includes(c));
  const quoteList = (cols: string[]) => cols.map((c) => `'${c}'`).join(', ');
  if (sig.inputs.length === 1 && sig.inputs[0].shape?.length === 2) {
    const spec = sig.inputs[0];
    const want = spec.shape![1];
    const features = sig.columns;
    let columns: string[];
    if (options.columns) {
      columns = options.columns;
      const gone = absent(columns);
      if (gone.length > 0) {
        throw new MloError('MLO_BAD_INPUT', `${options.input} has no column${gone.length > 1 ? 's' : ''} ${quoteList(gone)}`, {
          hint: `its columns are ${names.join(', ')}`,
        });
      }
      if (features) {
        if (columns.length !== features.length) {
          throw new MloError(
            'MLO_FEATURE_MISMATCH',
            `--columns names ${columns.length} columns but ${options.model.label} takes the features ${features.join(', ')}`,
            { hint: 'give one file column per feature, in that order, or drop --columns to map them by name' },
          );
        }
        const renamed = columns.map((c, i) => (c === features[i] ? '' : `${c} as ${features[i]}`)).filter(Boolean);
        if (renamed.length > 0) notes.push(`--columns feeds ${renamed.join(', ')}`);
      }
    } else if (features) {
      // The feature contract: by name, in the model's order, whatever the file's order.
      const gone = absent(features);
      if (gone.length > 0) {
        throw new MloError(
          'MLO_BAD_INPUT',
          `${options.input} lacks the feature column${gone.length > 1 ? 's' : ''} ${gone.join(', ')} of ${options.model.label} (it takes ${features.join(', ')}; the file has ${names.join(', ')})`,
          { hint: 'add the missing columns, or map file columns to the features in order with --columns' },
        );
      }
      columns = features;
    } else {
      // No names anywhere: the numeric columns in file order, only when their count is the input's width.
      columns = names.filter((n) => {
        const col = batch.column(n);
        for (let i = 0; i < Math.min(batch.length, 100); i++) {
          const k = col.read(i);
          if (k === CELL.null) continue;
          return k === CELL.int || k === CELL.float || k === CELL.bool;
        }
        return false;
      });
      if (isFreeDim(want)) {
        throw new MloError(
          'MLO_BAD_INPUT',
          `${options.model.label} names no feature columns and input '${spec.name}' takes any number of them, so the columns of ${options.input} cannot be matched`,
          { hint: 'give the feature columns in order with --columns a,b,c, or record them with `mlo model package --columns`' },
        );
      }
      if (columns.length === want) {
        notes.push(
          `${options.model.label} names no feature columns: fed ${columns.join(', ')} by position; record the names with \`mlo model package --columns\` (or in the ONNX metadata 'feature_names')`,
        );
      }
    }
    if (!isFreeDim(want) && columns.length !== want) {
      throw new MloError(
        'MLO_BAD_INPUT',
        `input '${spec.name}' takes ${want} features but ${options.columns ? '--columns names' : 'the file has'} ${columns.length} numeric columns (${columns.join(', ')})`,
        {
          hint: 'choose the feature columns in order with --columns a,b,c',
        },
      );
    }
    return [{ spec, columns, width: columns.length }];
  }
  const gone = absent(sig.inputs.map((s) => s.name));
  if (gone.length > 0) {
    throw new MloError('MLO_BAD_INPUT', `${options.input} lacks the column${gone.length > 1 ? 's' : ''} ${gone.join(', ')} for the inputs of the same name`, {
      hint: `the model's inputs are ${sig.inputs.map((s) => s.name).join(', ')}, one column each; the file has ${names.join(', ')}`,
    });
  }
  return sig.inputs.map((spec) => {
    const rank = spec.shape?.length ?? 1;
    const inner = rank === 2 ? spec.shape![1] : 1;
    if (rank > 2 || (inner !== 1 && !isFreeDim(inner))) {
      throw new MloError('MLO_UNSUPPORTED', `input '${spec.name}' has shape ${JSON.stringify(spec.shape)}; one column can feed only [batch] or [batch, 1]`);
    }
    return { spec, columns: [spec.name], width: 1 };
  });
}

function csvCell(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function formatRows(tensors: ort.Tensor[], n: number, columns: string[], json: boolean): string {
  const widths = tensors.map((t) => t.data.length / n);
  let s = '';
  for (let r = 0; r < n; r++) {
    if (json) {
      s += '{';
      let c = 0;
      for (let t = 0; t < tensors.length; t++) {
        const d = tensors[t].data as ArrayLike<number | bigint>;
        for (let j = 0; j < widths[t]; j++) s += `${c ? ',' : ''}${JSON.stringify(columns[c++])}:${num(d[r * widths[t] + j])}`;
      }
      s += '}\n';
    } else {
      let first = true;
      for (let t = 0; t < tensors.length; t++) {
        const d = tensors[t].data as ArrayLike<number | bigint>;
        const w = widths[t];
        for (let j = 0; j < w; j++) {
          s += (first ? '' : ',') + String(d[r * w + j]);
          first = false;
        }
      }
      s += '\n';
    }
  }
  return s;
}

function num(v: number | bigint): string {
  return typeof v === 'bigint' || v - v === 0 ? String(v) : 'null';
}
