/**
 * Reading the query string of a UI API request. Every parameter is checked here, before any query
 * runs: a malformed or oversized value is the client's mistake and gets a 400 naming the parameter,
 * never a 500 or a silently ignored filter.
 */
import { HttpError } from '../serve/http.js';

/** Longer URLs are refused outright: no route needs more, and parsing them costs memory. */
export const MAX_URL = 8192;
/** A key, run reference or revision longer than this is not one mlo wrote. */
const MAX_VALUE = 512;
/** How many runs one series or compare request may name. */
export const MAX_RUNS = 50;

export class Query {
  private readonly params: URLSearchParams;

  constructor(url: string) {
    if (url.length > MAX_URL) throw new HttpError(414, `the request URL is ${url.length} characters; the limit is ${MAX_URL}`);
    const q = url.indexOf('?');
    this.params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    for (const [name, value] of this.params) {
      if (value.length > MAX_VALUE) throw new HttpError(400, `query parameter '${name}' is ${value.length} characters; the limit is ${MAX_VALUE}`);
      if (value.includes('\0')) throw new HttpError(400, `query parameter '${name}' holds a NUL character`);
    }
  }

  /** One optional text parameter; an empty value counts as absent. */
  text(name: string): string | undefined {
    const all = this.params.getAll(name);
    if (all.length > 1) throw new HttpError(400, `query parameter '${name}' is given ${all.length} times; give it once`);
    return all[0] || undefined;
  }

  /** A parameter that must be present. */
  required(name: string): string {
    const v = this.text(name);
    if (v === undefined) throw new HttpError(400, `query parameter '${name}' is required`);
    return v;
  }

  /** Every value of a repeatable parameter (also comma-separated), at most `max`. */
  list(name: string, max = MAX_RUNS): string[] {
    const out = this.params
      .getAll(name)
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean);
    if (out.length > max) throw new HttpError(400, `query parameter '${name}' names ${out.length} values; the limit is ${max}`);
    return out;
  }

  /** A whole number in [min, max], or undefined when absent. */
  int(name: string, min: number, max: number): number | undefined {
    const v = this.text(name);
    if (v === undefined) return undefined;
    if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new HttpError(400, `query parameter '${name}' must be a whole number from ${min} to ${max}, got '${v.slice(0, 40)}'`);
    }
    return Number(v);
  }

  /** A finite number (a step), or undefined when absent. */
  number(name: string): number | undefined {
    const v = this.text(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v) || !Number.isFinite(Number(v))) {
      throw new HttpError(400, `query parameter '${name}' must be a number, got '${v.slice(0, 40)}'`);
    }
    return Number(v);
  }

  /** One of `choices`, or undefined when absent. */
  choice<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const v = this.text(name);
    if (v === undefined) return undefined;
    if (!(choices as readonly string[]).includes(v))
      throw new HttpError(400, `query parameter '${name}' must be one of ${choices.join(', ')}, got '${v.slice(0, 40)}'`);
    return v as T;
  }
}
