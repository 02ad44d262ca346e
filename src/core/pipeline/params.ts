/**
 * Parameter files (params.yaml and any named YAML or JSON file). A stage depends on the values of the
 * keys it lists, not on the file: editing another key re-runs nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MloError, errnoCode, isMloError } from '../../base/errors.js';
import { canonicalJson } from '../../base/json.js';
import { parseYaml } from '../../base/yamlfile.js';
import { readCached, writeCached, type CacheHome } from '../repo/parsecache.js';

export type ParamValues = Record<string, Record<string, unknown>>;

/**
 * Reads each params file once per command (many stages list the same file). With `cache` (the repo),
 * parsed files are kept in the parse cache, keyed by the file's stat, so a no-op run loads no YAML parser.
 */
export class ParamsReader {
  private readonly files_ = new Map<string, Record<string, unknown> | undefined>();

  constructor(
    private readonly root: string,
    private readonly cache?: CacheHome,
  ) {}

  /** Every file read so far (existing or not), relative to the root. */
  files(): string[] {
    return [...this.files_.keys()];
  }

  /** The parsed file (relative to the root), or undefined when it does not exist. */
  read(rel: string): Record<string, unknown> | undefined {
    if (this.files_.has(rel)) return this.files_.get(rel);
    const name = `params/${rel}`;
    // The cache stores `{ value }` so that a missing file (undefined) is a hit too.
    const hit = this.cache && readCached<{ value?: Record<string, unknown> }>(this.cache, name);
    let value = hit ? hit.value : undefined;
    if (!hit) {
      const startedAt = Date.now();
      value = this.parse(rel);
      if (this.cache && jsonSafe(value)) writeCached(this.cache, name, { value }, [rel], startedAt);
    }
    this.files_.set(rel, value);
    return value;
  }

  private parse(rel: string): Record<string, unknown> | undefined {
    let text: string;
    try {
      text = readFileSync(join(this.root, rel), 'utf8');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      return undefined;
    }
    let value: Record<string, unknown>;
    try {
      const parsed = rel.endsWith('.json') ? JSON.parse(text) : parseYaml(text, rel, 'MLO_BAD_PARAMS');
      value = parsed ?? {};
    } catch (err) {
      if (isMloError(err)) throw err;
      throw new MloError('MLO_BAD_PARAMS', `${rel}: cannot parse: ${(err as Error).message.split('\n')[0]}`, {
        hint: 'params files are YAML or JSON',
      });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new MloError('MLO_BAD_PARAMS', `${rel}: must hold a map of keys to values`);
    }
    return value;
  }
}

/**
 * True when JSON keeps `value` exactly: YAML's .inf, .nan and big integers do not survive JSON, so a
 * file holding them is parsed every time rather than cached as something else.
 */
export function jsonSafe(value: unknown): boolean {
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every((v) => v !== undefined && jsonSafe(v));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.entries(value).every(([k, v]) => k !== '__proto__' && v !== undefined && jsonSafe(v));
  }
  return false;
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
      if (!Object.hasOwn(cur, part)) return { found: false };
      cur = (cur as Record<string, unknown>)[part];
    }
  }
  return { found: true, value: cur };
}

export function sameValue(a: unknown, b: unknown): boolean {
  // Identical values serialize identically; most commands and params of a no-op run are strings or numbers.
  return a === b || canonicalJson(a) === canonicalJson(b);
}
