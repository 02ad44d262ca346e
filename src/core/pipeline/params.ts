/**
 * Parameter files (params.yaml and any named YAML or JSON file). A stage depends on the values of the
 * keys it lists, not on the file: editing another key re-runs nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { MloError, errnoCode } from '../errors.js';

export type ParamValues = Record<string, Record<string, unknown>>;

/** Reads each params file once per command (many stages list the same file). */
export class ParamsReader {
  private readonly files_ = new Map<string, Record<string, unknown> | undefined>();

  constructor(private readonly root: string) {}

  /** Every file read so far (existing or not), relative to the root. */
  files(): string[] {
    return [...this.files_.keys()];
  }

  /** The parsed file (relative to the root), or undefined when it does not exist. */
  read(rel: string): Record<string, unknown> | undefined {
    if (this.files_.has(rel)) return this.files_.get(rel);
    let text: string | undefined;
    try {
      text = readFileSync(join(this.root, rel), 'utf8');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    let value: Record<string, unknown> | undefined;
    if (text !== undefined) {
      try {
        const parsed = rel.endsWith('.json') ? JSON.parse(text) : parse(text);
        value = parsed ?? {};
      } catch (err) {
        throw new MloError('MLO_BAD_PARAMS', `${rel}: cannot parse: ${(err as Error).message.split('\n')[0]}`, {
          hint: 'params files are YAML or JSON',
        });
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new MloError('MLO_BAD_PARAMS', `${rel}: must hold a map of keys to values`);
      }
    }
    this.files_.set(rel, value);
    return value;
  }
}

/** Looks up a dotted key (`train.lr`, `layers.0`); `found` is false when any part is missing. */
export function getKey(obj: unknown, dotted: string): { found: boolean; value?: unknown } {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return { found: false };
    if (Array.isArray(cur)) {
      const i = Number(part);
      if (!Number.isInteger(i) || i < 0 || i >= cur.length) return { found: false };
      cur = cur[i];
    } else {
      if (!Object.prototype.hasOwnProperty.call(cur, part)) return { found: false };
      cur = (cur as Record<string, unknown>)[part];
    }
  }
  return { found: true, value: cur };
}

/** Canonical JSON: object keys sorted at every level, so equal values give equal bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

export function sortDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDeep);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortDeep((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

export function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
