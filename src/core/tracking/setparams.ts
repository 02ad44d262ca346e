/**
 * `-S [FILE:]KEY=VALUE` overrides: parsing, grid expansion (`lr=0.1,0.01`, `depth=range(2,8)`) and
 * writing the values into params files. YAML files are edited through the yaml Document so comments and
 * key order survive; JSON files are rewritten with two-space indentation.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isCollection, isMap, isSeq, parse as parseYaml, parseDocument, visit } from 'yaml';
import { usageError, MloError } from '../../base/errors.js';
import { writeFileAtomic } from '../../base/fs.js';
import { isSafeRelPath } from '../data/pointer/schema.js';
import { parseStructured, type Scalar } from './values.js';

import { DEFAULT_PARAMS_FILE } from '../repo/names.js';

export { DEFAULT_PARAMS_FILE };

export interface ParamOverride {
  file: string;
  key: string;
  value: Scalar;
}

/** One `-S` argument: a file, a key and one or more values (more than one makes a grid axis). */
export interface ParamAxis {
  file: string;
  key: string;
  values: Scalar[];
}

/** A scalar written on the command line, read as YAML reads it: 0.1 is a number, true a boolean, abc a string. */
export function parseScalar(text: string): Scalar {
  const t = text.trim();
  if (t === '') return '';
  try {
    const v = parseYaml(t) as unknown;
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return v as Scalar;
  } catch {
    // Not valid YAML on its own (e.g. `a: b`): keep the text.
  }
  return t;
}

/** Splits on commas outside brackets and quotes. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let cur = '';
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  parts.push(cur);
  return parts;
}

function expandValue(text: string, arg: string): Scalar[] {
  const range = /^\s*range\(\s*([^)]*)\)\s*$/.exec(text);
  if (range) {
    const nums = range[1].split(',').map((s) => Number(s.trim()));
    if (nums.some((n) => !Number.isFinite(n)) || nums.length < 1 || nums.length > 3) {
      throw usageError(`-S ${arg}: range() takes 1 to 3 numbers, as in range(2,8) or range(0,1,0.25)`);
    }
    const [start, stop, step] = nums.length === 1 ? [0, nums[0], 1] : [nums[0], nums[1], nums[2] ?? 1];
    if (step === 0) throw usageError(`-S ${arg}: range() step must not be 0`);
    const out: number[] = [];
    // Decimal steps accumulate float error; computing start + i*step and rounding keeps 0.1 steps clean.
    for (let i = 0; ; i++) {
      const v = Number((start + i * step).toPrecision(12));
      if (step > 0 ? v >= stop : v <= stop) break;
      out.push(v);
      if (out.length > 100_000) throw usageError(`-S ${arg}: range() yields too many values`);
    }
    if (out.length === 0) throw usageError(`-S ${arg}: range() is empty`);
    return out;
  }
  const parts = splitTopLevel(text);
  return parts.flatMap((p) => (/^\s*range\(/.test(p) ? expandValue(p, arg) : [parseScalar(p)]));
}

/** Parses one `-S [FILE:]KEY=VALUE[,VALUE...]` argument. */
export function parseSetArg(arg: string): ParamAxis {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw usageError(`-S ${arg}: expected [FILE:]KEY=VALUE`, 'for example -S lr=0.01 or -S train.yaml:epochs=5');
  const left = arg.slice(0, eq).trim();
  const colon = left.lastIndexOf(':');
  const file = colon > 0 ? left.slice(0, colon) : DEFAULT_PARAMS_FILE;
  const key = colon > 0 ? left.slice(colon + 1) : left;
  if (!key) throw usageError(`-S ${arg}: the key is empty`);
  if (!isSafeRelPath(file)) throw usageError(`-S ${arg}: params file '${file}' must be a relative path inside the repository`);
  return { file, key, values: expandValue(arg.slice(eq + 1), arg) };
}

/** The cartesian product of the axes: one list of overrides per run. */
export function expandGrid(axes: ParamAxis[]): ParamOverride[][] {
  let combos: ParamOverride[][] = [[]];
  for (const axis of axes) {
    const next: ParamOverride[][] = [];
    for (const combo of combos) {
      for (const value of axis.values)
        next.push([...combo.filter((o) => !(o.file === axis.file && o.key === axis.key)), { file: axis.file, key: axis.key, value }]);
    }
    combos = next;
  }
  return combos;
}

/** The display key of an override: `lr` in params.yaml, `train.yaml:lr` elsewhere. */
export function paramKey(file: string, key: string): string {
  return file === DEFAULT_PARAMS_FILE ? key : `${file}:${key}`;
}

function pathOf(key: string): (string | number)[] {
  return key.split('.').map((seg) => (/^\d+$/.test(seg) ? Number(seg) : seg));
}

/** The new text of a params file after setting `overrides` in it (pure; `text` may be empty for a new file). */
export function applyToText(text: string, name: string, overrides: { key: string; value: Scalar }[]): string {
  if (/\.json$/i.test(name)) {
    const data = (text.trim() ? parseStructured(text, name, 'MLO_BAD_PARAMS') : {}) as Record<string, unknown>;
    for (const o of overrides) {
      const path = pathOf(o.key);
      let cur: unknown = data;
      for (const seg of path) cur = cur !== null && typeof cur === 'object' ? (cur as Record<string | number, unknown>)[seg] : undefined;
      if (cur !== null && typeof cur === 'object') throw replacesCollection(name, o, Array.isArray(cur) ? '0' : Object.keys(cur)[0], Array.isArray(cur));
      setDeep(data, path, o.value);
    }
    return `${JSON.stringify(data, null, 2)}\n`;
  }
  parseStructured(text, name, 'MLO_BAD_PARAMS');
  const doc = parseDocument(text);
  for (const o of overrides) {
    const path = pathOf(o.key);
    // A scalar over a whole map or list would silently drop every value under it.
    const target = doc.getIn(path, true);
    if (isCollection(target)) {
      const first = target.items[0] as unknown;
      const leaf = isSeq(target)
        ? '0'
        : isMap(target) && first && typeof first === 'object' && 'key' in first
          ? String((first as { key: unknown }).key)
          : undefined;
      throw replacesCollection(name, o, leaf, isSeq(target));
    }
    // yaml's setIn creates maps for missing parents but fails on a scalar in the way; report it by key.
    for (let i = 1; i < path.length; i++) {
      const node = doc.getIn(path.slice(0, i), true);
      if (node !== undefined && !isMap(node) && !isSeq(node)) {
        throw new MloError('MLO_BAD_PARAMS', `${name}: cannot set ${o.key}: ${path.slice(0, i).join('.')} is a value, not a map`, {
          hint: `set ${path.slice(0, i).join('.')} itself, or change ${name} by hand to make it a map`,
          meta: { file: name, key: o.key },
        });
      }
    }
    doc.setIn(path, o.value);
  }
  return doc.toString({ flowCollectionPadding: flowPadding(doc, text), lineWidth: 0 });
}

function replacesCollection(name: string, o: { key: string; value: Scalar }, leaf: string | undefined, list: boolean): MloError {
  const example = `${o.key}.${leaf ?? (list ? '0' : 'KEY')}=${o.value}`;
  return new MloError(
    'MLO_BAD_PARAMS',
    `${name}: cannot set ${o.key}=${o.value}: ${o.key} is a ${list ? 'list' : 'map'}, and a value would replace all of it`,
    {
      hint: `set a leaf instead, such as -S ${name === DEFAULT_PARAMS_FILE ? '' : `${name}:`}${example}`,
      meta: { file: name, key: o.key },
    },
  );
}

/**
 * Whether the file writes flow collections as `[ 1, 2 ]` (yaml's default) or `[1, 2]`: the written
 * file keeps the style it had (the first non-empty flow collection decides; none: unpadded).
 */
function flowPadding(doc: ReturnType<typeof parseDocument>, text: string): boolean {
  let padded: boolean | undefined;
  visit(doc, {
    Collection(_, node) {
      if (node.flow && node.items.length > 0 && node.range) {
        padded = text[node.range[0] + 1] === ' ';
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return padded ?? false;
}

function setDeep(obj: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let cur: Record<string | number, unknown> = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const next = cur[path[i]];
    if (next === undefined) cur[path[i]] = typeof path[i + 1] === 'number' ? [] : {};
    else if (next === null || typeof next !== 'object')
      throw new MloError('MLO_BAD_PARAMS', `cannot set ${path.join('.')}: ${path.slice(0, i + 1).join('.')} is a value, not a map`);
    cur = cur[path[i]] as Record<string | number, unknown>;
  }
  cur[path[path.length - 1]] = value;
}

/** Writes `overrides` into the params files under `root`; returns the files changed. */
export function applyOverrides(root: string, overrides: ParamOverride[]): string[] {
  const byFile = new Map<string, ParamOverride[]>();
  for (const o of overrides) byFile.set(o.file, [...(byFile.get(o.file) ?? []), o]);
  for (const [file, list] of byFile) {
    const abs = join(root, file);
    const text = existsSync(abs) ? readFileSync(abs, 'utf8') : '';
    writeFileAtomic(abs, applyToText(text, file, list));
  }
  return [...byFile.keys()];
}
