/**
 * Pure helpers for metric and param values: parsing metrics files (JSON or YAML) with positioned errors,
 * flattening nested keys to `a.b.c`, and the one rule for what a metric value is (a finite or infinite
 * number is numeric; anything else is kept as text, never dropped and never a crash).
 */
import { parseDocument } from 'yaml';
import { MloError, type ErrorCode } from '../../base/errors.js';
import { yamlToJs } from '../../base/yamlfile.js';

export type Scalar = string | number | boolean | null;

/** A metric value as stored: `value` when numeric, else `text`. */
export interface MetricValue {
  value: number | null;
  text: string | null;
}

/**
 * The longest text metric value kept, in characters. A metric is a label or a short note; a stage (or a
 * stranger's run file) that writes 50 MB into one would put it in the committed run file, print it
 * whole in `exp run` and make `exp show` hold it in memory for every run. Longer text is cut here, with
 * a note saying how long it was.
 */
export const MAX_TEXT_CHARS = 1024;

export function boundText(text: string): string {
  return text.length <= MAX_TEXT_CHARS ? text : `${text.slice(0, MAX_TEXT_CHARS)}... [cut by mlo: ${text.length} characters]`;
}

/**
 * The longest metric or param key, in characters (MLflow's limit too). `mlo log` refuses a longer key;
 * a stage's metrics files and $MLO_METRICS_FILE lines skip it with a warning, as the run goes on.
 */
export const MAX_KEY_CHARS = 250;

/** Why `key` cannot be a metric or param key, or undefined when it can. */
export function keyProblem(key: string): string | undefined {
  if (key.length > 0 && key.length <= MAX_KEY_CHARS) return undefined;
  const shown = key.length > 40 ? `${key.slice(0, 40)}...' (${key.length} characters)` : `${key}'`;
  return `invalid key '${shown}: keys are 1 to ${MAX_KEY_CHARS} characters`;
}

/**
 * Splits points from a stage's file into those with a valid key and a warning naming the first bad key
 * and how many there were (one warning per file: a stage that writes 10,000 bad keys says so once).
 */
export function dropBadKeys<T extends { key: string }>(points: T[], file: string): { kept: T[]; warning?: string } {
  const kept: T[] = [];
  const bad = new Set<string>();
  for (const p of points) {
    if (keyProblem(p.key) === undefined) kept.push(p);
    else bad.add(p.key);
  }
  if (bad.size === 0) return { kept };
  const first = keyProblem(bad.values().next().value as string);
  const more = bad.size > 1 ? ` (and ${bad.size - 1} more)` : '';
  return { kept, warning: `skipped metrics of ${file} with an ${first}${more}` };
}

/** Numbers stay numbers (NaN becomes text 'NaN': SQLite would store it as NULL); strings that read as numbers become numbers. */
export function toMetricValue(v: unknown): MetricValue {
  if (typeof v === 'number') return Number.isNaN(v) ? { value: null, text: 'NaN' } : { value: v, text: null };
  if (typeof v === 'string') {
    // Only a string short enough to be a number is tested as one (the regex on 50 MB costs time).
    const t = v.length <= 400 ? v.trim() : '';
    if (t !== '' && NUMERIC.test(t)) {
      const n = Number(t);
      if (!Number.isNaN(n)) return { value: n, text: null };
    }
    return { value: null, text: boundText(v) };
  }
  if (v === null || v === undefined) return { value: null, text: 'null' };
  return { value: null, text: boundText(typeof v === 'object' ? JSON.stringify(v) : String(v)) };
}

const NUMERIC = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?Infinity$/;

/** Flattens nested objects and arrays to dotted keys (`train.loss`, `layers.0.units`). */
export function flatten(value: unknown, prefix = '', out: Record<string, Scalar> = {}): Record<string, Scalar> {
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out[prefix] = Array.isArray(value) ? '[]' : '{}';
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  if (!prefix) return out;
  out[prefix] = value instanceof Date ? value.toISOString() : (value as Scalar);
  return out;
}

/** 1-based line and column of a character offset. */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, col: offset - last };
}

function isJsonName(name: string): boolean {
  return /\.json$/i.test(name);
}

/**
 * Parses a metrics or params file's text: `.json` as JSON, anything else as YAML (YAML is a superset of
 * JSON). Errors are MLO_BAD_METRICS naming `name:line:col`.
 */
export function parseStructured(text: string, name: string, code: ErrorCode = 'MLO_BAD_METRICS'): unknown {
  if (isJsonName(name)) {
    try {
      return text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      const at = jsonErrorAt(text);
      const { line, col } = lineCol(text, at.offset);
      throw new MloError(code, `${name}:${line}:${col}: invalid JSON: ${at.message}`, {
        hint: 'fix the file (the stage that writes it, or by hand) and run the command again',
        meta: { file: name },
      });
    }
  }
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const pos = first.linePos?.[0] ?? (first.pos ? lineCol(text, first.pos[0]) : undefined);
    const where = pos ? `${name}:${pos.line}:${pos.col}` : name;
    throw new MloError(code, `${where}: invalid YAML: ${first.message.split('\n')[0]}`, {
      hint: 'fix the file (the stage that writes it, or by hand) and run the command again',
      meta: { file: name },
    });
  }
  return yamlToJs(doc, name, code) ?? {};
}

/**
 * Where JSON.parse failed and why. Node 20's messages do not always carry a position, so a small
 * scanner walks the text the way the grammar does and stops at the first character that cannot follow.
 */
export function jsonErrorAt(text: string): { offset: number; message: string } {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const fail = (message: string): never => {
    throw { offset: i, message };
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a "key" but found ${show(text[i])}`);
        string();
        ws();
        if (text[i] !== ':') fail(`expected ':' but found ${show(text[i])}`);
        i++;
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') return void i++;
        fail(`expected ',' or '}' but found ${show(text[i])}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') return void i++;
        fail(`expected ',' or ']' but found ${show(text[i])}`);
      }
    }
    if (c === '"') return string();
    const m = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (m) return void (i += m[0].length);
    fail(`unexpected ${show(c)}`);
  };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail('control character in a string');
      i++;
    }
    if (i >= text.length) fail('unterminated string');
    i++;
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${show(text[i])} after the JSON value`);
  } catch (err) {
    if (typeof err === 'object' && err !== null && 'offset' in err) return err as { offset: number; message: string };
    throw err;
  }
  return { offset: 0, message: 'not valid JSON' };
}

function show(c: string | undefined): string {
  return c === undefined ? 'the end of the file' : `'${c}'`;
}

/** A metrics file's flattened metrics. */
export function parseMetricsText(text: string, name: string): Record<string, Scalar> {
  return flatten(parseStructured(text, name));
}

export interface StepPoint {
  key: string;
  step: number;
  value: number | null;
  text: string | null;
  ts: number;
}

/**
 * Parses step-series JSON lines (`{"step": 3, "loss": 0.2}`), the format a stage appends to
 * $MLO_METRICS_FILE. `step` defaults to the line's index among records, `timestamp` (ms) to `now`; every
 * other key (nested keys flattened) is a metric. A torn last line (the writer was killed mid-write) is
 * skipped; a bad line elsewhere is an error naming file:line (readStepLines skips it instead).
 */
export function parseStepLines(text: string, name: string, now = Date.now()): StepPoint[] {
  return scanStepLines(text, name, now, (err) => {
    throw err;
  });
}

/**
 * As parseStepLines, but a bad line is skipped and returned in `bad` (one MLO_BAD_METRICS per line,
 * naming file:line): one broken line must not cost a stage its whole series.
 */
export function readStepLines(text: string, name: string, now = Date.now()): { points: StepPoint[]; bad: MloError[] } {
  const bad: MloError[] = [];
  const points = scanStepLines(text, name, now, (err) => bad.push(err));
  return { points, bad };
}

function scanStepLines(text: string, name: string, now: number, onBad: (err: MloError) => void): StepPoint[] {
  const points: StepPoint[] = [];
  let lineNo = 0;
  let index = 0;
  let start = 0;
  const len = text.length;
  while (start < len) {
    let end = text.indexOf('\n', start);
    const last = end < 0;
    if (last) end = len;
    lineNo++;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === '') continue;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      if (last && !text.endsWith('\n')) break;
      const at = jsonErrorAt(line);
      onBad(
        new MloError('MLO_BAD_METRICS', `${name}:${lineNo}:${at.offset + 1}: invalid JSON line: ${at.message}`, {
          hint: 'each line must be one JSON object such as {"step": 3, "loss": 0.2}',
          meta: { file: name, line: lineNo },
        }),
      );
      continue;
    }
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
      onBad(
        new MloError('MLO_BAD_METRICS', `${name}:${lineNo}: expected a JSON object such as {"step": 3, "loss": 0.2}`, {
          hint: 'each line must be one JSON object such as {"step": 3, "loss": 0.2}',
          meta: { file: name, line: lineNo },
        }),
      );
      continue;
    }
    const obj = rec as Record<string, unknown>;
    const step = typeof obj.step === 'number' && Number.isFinite(obj.step) ? Math.trunc(obj.step) : index;
    const ts = typeof obj.timestamp === 'number' ? obj.timestamp : now;
    index++;
    for (const k in obj) {
      if (k === 'step' || k === 'timestamp') continue;
      const v = obj[k];
      if (typeof v === 'number') {
        // The hot path (one million points per bench run): skip the generic conversion for plain numbers.
        points.push(Number.isNaN(v) ? { key: k, step, value: null, text: 'NaN', ts } : { key: k, step, value: v, text: null, ts });
      } else if (v !== null && typeof v === 'object') {
        for (const [fk, fv] of Object.entries(flatten(v, k))) points.push({ key: fk, step, ts, ...toMetricValue(fv) });
      } else {
        points.push({ key: k, step, ts, ...toMetricValue(v) });
      }
    }
  }
  return points;
}

/** Metric names where lower is better (loss, error rates, distances); everything else: higher is better. */
export function lowerIsBetter(key: string): boolean {
  const leaf = key.toLowerCase().split(/[.:/]/).pop() ?? '';
  return /(loss|err|error|mse|mae|rmse|mape|perplexity|latency|time|duration|cost|wer|cer|distance|regret)/.test(leaf);
}
