/**
 * The serve log: JSON lines written by `mlo serve`, one record per request.
 *
 *   {"ts": "2026-11-23T10:00:00.000Z", "model": "churn", "version": 3, "status": 200, "latency_ms": 1.7,
 *    "inputs": {"age": [31, 45], "plan": ["pro", "free"]}, "outputs": {"score": [0.2, 0.9]}}
 *
 * For drift, element i of every array in `inputs` is row i (a scalar is repeated on every row of the
 * request); outputs become prediction columns `prediction.<output>`. A row element that is itself an
 * array of scalars (a vector feature) becomes columns `name[0]`, `name[1]`, ...
 *
 * When the arrays of a record differ in length they cannot be one batch; the record is then one row and
 * its arrays are that row's values (length 1: a scalar; longer: a vector), which also reads logs
 * written one line per prediction row with flattened tensors.
 */
import { z } from 'zod';
import { MloError } from '../../base/errors.js';
import { jsonType, readJsonRecords, type RowsOf } from '../../base/tabular/index.js';

export const PREDICTION_PREFIX = 'prediction.';

/** The fields mlo reads from a serve-log record; others are ignored. */
export const serveRecordSchema = z.object({
  ts: z.string(),
  model: z.string().nullable().optional(),
  version: z.union([z.number(), z.string()]).nullable().optional(),
  status: z.number().nullable().optional(),
  latency_ms: z.number().nullable().optional(),
  inputs: z.record(z.unknown()).nullable().optional(),
  outputs: z.record(z.unknown()).nullable().optional(),
});
export type ServeRecord = z.infer<typeof serveRecordSchema>;

/** Parses one serve-log record, naming file:line and the field when it does not fit the format. */
export function parseServeRecord(value: unknown, file: string, line: number): ServeRecord {
  const r = serveRecordSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const key = issue.path.length ? issue.path.join('.') : '(record)';
    throw new MloError('MLO_BAD_SERVE_LOG', `${file}:${line}: ${key}: ${issue.message}`, {
      hint: 'each line of a serve log is {"ts", "model", "version", "status", "latency_ms", "inputs", "outputs"}; see docs/monitoring.md',
    });
  }
  return r.data;
}

/** A model version's feature contract: its one input and the names of that input's columns, in order. */
export interface FeatureContract {
  input: string;
  columns: string[];
}

/** Feature contracts by `model@version`, as the registry records them. */
export type FeatureContracts = Record<string, FeatureContract>;

export interface ServeRowsOptions {
  file: string;
  /** Keep only this model's requests. */
  model?: string;
  /** Keep only this version's requests (compared as text; 'null' for a model served from a path). */
  version?: string;
  /**
   * Logs written before serve logged feature names hold one vector input (`x[0]`, `x[1]`, ...): a
   * version whose contract names that input's columns has them read under those names, by position.
   */
  contracts?: FeatureContracts;
  /** Receives one line per positional mapping applied. */
  notes?: Set<string>;
}

/**
 * Turns serve-log records into feature rows. Failed requests (status >= 400) are left out: their inputs
 * may be the reason they failed and they have no predictions.
 */
export function serveLogRows(options: ServeRowsOptions): RowsOf {
  return (value, line) => {
    const rec = parseServeRecord(value, options.file, line);
    if (options.model !== undefined && rec.model !== options.model) return [];
    if (options.version !== undefined && String(rec.version ?? null) !== options.version) return [];
    if (rec.status != null && rec.status >= 400) return [];
    if (!rec.inputs) return [];
    const columns: [string, unknown][] = [];
    const contract = options.contracts?.[`${rec.model}@${rec.version}`];
    const byPosition = contract ? positional(rec.inputs, contract) : undefined;
    if (byPosition && contract) {
      options.notes?.add(
        `${options.file}: ${contract.input}[0..${contract.columns.length - 1}] of ${rec.model}@${rec.version} read as ${contract.columns.join(', ')} by position (the version's feature contract)`,
      );
      columns.push(...byPosition);
    } else for (const [k, v] of Object.entries(rec.inputs)) columns.push([k, v]);
    for (const [k, v] of Object.entries(rec.outputs ?? {})) columns.push([PREDICTION_PREFIX + k, v]);
    let size = -1;
    let batched = true;
    for (const [, v] of columns) {
      if (!Array.isArray(v)) continue;
      if (size >= 0 && v.length !== size) batched = false;
      size = Math.max(size, v.length);
    }
    if (!batched) {
      // Arrays of different lengths cannot be one batch: the record is a single row whose arrays are
      // per-row vectors (what a writer logging one line per prediction row, flattened, produces).
      return [rowOf(columns.map(([k, v]) => [k, Array.isArray(v) && v.length === 1 ? v[0] : v]))];
    }
    if (size < 0) size = 1;
    const rows: Record<string, unknown>[] = [];
    for (let i = 0; i < size; i++) rows.push(rowOf(columns.map(([k, v]) => [k, Array.isArray(v) ? v[i] : v])));
    return rows;
  };
}

/**
 * The columns of a record's one vector input under the contract's feature names, or undefined when the
 * record is not that: another input, several inputs, or rows of another width.
 */
function positional(inputs: Record<string, unknown>, c: FeatureContract): [string, unknown][] | undefined {
  const keys = Object.keys(inputs);
  const rows = inputs[c.input];
  if (keys.length !== 1 || keys[0] !== c.input || !Array.isArray(rows) || rows.length === 0) return undefined;
  if (!rows.every((r) => Array.isArray(r) && r.length === c.columns.length)) return undefined;
  return c.columns.map((name, j) => [name, rows.map((r) => (r as unknown[])[j])]);
}

/** One row: a cell that is an array of scalars (a vector feature) becomes columns name[0], name[1], ... */
function rowOf(cells: [string, unknown][]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const [k, cell] of cells) {
    if (Array.isArray(cell) && cell.every((e) => e === null || typeof e !== 'object')) {
      cell.forEach((e, j) => (row[`${k}[${j}]`] = e));
    } else row[k] = cell;
  }
  return row;
}

/** True when the first record of a JSON lines file looks like a serve-log record (has ts and inputs). */
export function looksLikeServeLog(file: string, displayName = file): boolean {
  for (const { value } of readJsonRecords(file, { displayName, chunkBytes: 1 << 16 })) {
    return (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      'ts' in value &&
      'inputs' in value &&
      jsonType((value as { inputs: unknown }).inputs) === 'an object'
    );
  }
  return false;
}

/** A model version that answered requests in a serve log: an arm of an A/B split, or the only one. */
export interface ServeArm {
  model: string | null;
  version: string | number | null;
}

/** The model versions with a successful request in the log, in order of first appearance. */
export function serveArms(path: string, file: string, model?: string): ServeArm[] {
  const seen = new Map<string, ServeArm>();
  for (const { value, line } of readJsonRecords(path, { displayName: file, skipPartialLastLine: true })) {
    const rec = parseServeRecord(value, file, line);
    if ((model !== undefined && rec.model !== model) || (rec.status != null && rec.status >= 400) || !rec.inputs) continue;
    const key = `${rec.model ?? null}@${rec.version ?? null}`;
    if (!seen.has(key)) seen.set(key, { model: rec.model ?? null, version: rec.version ?? null });
  }
  return [...seen.values()];
}
