/**
 * The option shapes commander hands to command bodies: each area declares the flags, each command
 * reads them. Here because both sides need them and a command never imports an area. Also the one set
 * of value parsers every numeric and enum option uses, so a bad value is refused where it is parsed
 * (exit 2, naming the flag and the valid range) instead of reaching a core function, or a socket.
 */
import { InvalidArgumentError } from './commander.js';
import type { RunOptions } from '../core/pipeline/run.js';
import type { StageAddOptions } from '../core/pipeline/stageadd.js';

export interface ScopeFlags {
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
  rev?: string[];
}

export interface SyncFlags extends ScopeFlags {
  remote?: string;
  jobs?: number;
  runCache?: boolean;
  /** push: ask the remote about every object instead of trusting the remote index. */
  verify?: boolean;
}

/** The revisions a scope selects, as the core sync and gc functions take them. */
export function scopeOf(opts: ScopeFlags) {
  return { allBranches: opts.allBranches, allTags: opts.allTags, allCommits: opts.allCommits, revs: opts.rev };
}

export interface GcFlags {
  workspace?: boolean;
  allBranches?: boolean;
  allTags?: boolean;
  allCommits?: boolean;
  rev?: string[];
  dry?: boolean;
  cloud?: boolean;
  remote?: string;
  /** false with --no-run-cache. */
  runCache?: boolean;
  /** Delete even when some directory's manifest is not in the cache (--cloud: nor on the remote). */
  force?: boolean;
}

/** `mlo stage add` flags are the core options less the command, which comes after `--`. */
export type StageAddFlags = Omit<StageAddOptions, 'cmd'>;

/** `mlo run` flags: the core options that come from the command line; `--no-run-cache` sets `runCache`. */
export type RunFlags = Pick<RunOptions, 'force' | 'dry' | 'singleItem' | 'downstream' | 'keepGoing' | 'pull' | 'jobs'> & { runCache: boolean };

export interface ExpRunFlags {
  set?: string[];
  name?: string;
  queue?: boolean;
  experiment?: string;
  force?: boolean;
  jobs?: number;
  queued?: string;
}

export interface ExpShowFlags {
  csv?: boolean;
  md?: boolean;
  sortBy?: string;
  sortOrder?: 'asc' | 'desc';
  onlyChanged?: boolean;
  limit?: number;
  precision?: number;
  experiment?: string;
  /** Columns to show even when --drop or --only-changed would hide them (DVC's --keep). */
  keep?: RegExp;
  /** Columns to hide (DVC's --drop); the Run column always stays. */
  drop?: RegExp;
}

export interface RevDiffFlags {
  md?: boolean;
  all?: boolean;
  precision?: number;
}

export interface PlotsFlags {
  out?: string;
  limit?: number;
}

/** The valid values of a numeric option: bounds (inclusive unless `exclusive`), and what a special value means. */
export interface NumberRange {
  min?: number;
  max?: number;
  /** Both bounds are excluded (p-values: strictly between 0 and 1). */
  exclusive?: boolean;
  /** Appended to the message, e.g. '0 picks a free port'. */
  note?: string;
}

function rangeText(range: NumberRange): string {
  const { min, max, exclusive } = range;
  let span = '';
  if (min !== undefined && max !== undefined) span = exclusive ? ` strictly between ${min} and ${max}` : ` from ${min} to ${max}`;
  else if (min !== undefined) span = exclusive ? ` greater than ${min}` : ` of at least ${min}`;
  else if (max !== undefined) span = exclusive ? ` less than ${max}` : ` of at most ${max}`;
  return span + (range.note ? ` (${range.note})` : '');
}

function inRange(n: number, { min, max, exclusive }: NumberRange): boolean {
  if (min !== undefined && (exclusive ? n <= min : n < min)) return false;
  return max === undefined || (exclusive ? n < max : n <= max);
}

/** A whole-number option (commander's argParser): `intOption('--jobs', { min: 1 })`. */
export function intOption(flag: string, range: NumberRange) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || !inRange(n, range)) {
      throw new InvalidArgumentError(`${flag} must be a whole number${rangeText(range)}, got '${value}'`);
    }
    return n;
  };
}

/** A number option, fractions allowed: `numberOption('--ks-p', { min: 0, max: 1 })`. */
export function numberOption(flag: string, range: NumberRange = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || !inRange(n, range)) {
      throw new InvalidArgumentError(`${flag} must be a number${rangeText(range)}, got '${value}'`);
    }
    return n;
  };
}

/** A regular expression (JavaScript syntax), refused where it is parsed when it does not compile. */
export function regexOption(flag: string) {
  return (value: string): RegExp => {
    try {
      return new RegExp(value);
    } catch (err) {
      throw new InvalidArgumentError(`${flag} is not a valid regular expression: ${(err as Error).message}`);
    }
  };
}

/** A TCP port; 0 asks the system for a free one. */
export const portOption = (flag: string) => intOption(flag, { min: 0, max: 65535, note: '0 picks a free port' });

/** One of `values` (commander's `.choices()` says the same, but only for a plain option). */
export function enumOption<T extends string>(flag: string, values: readonly T[]) {
  return (value: string): T => {
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(`${flag} must be one of ${values.join(', ')}, got '${value}'`);
    return value as T;
  };
}

/** A repeatable enum option, also comma-separated: `--fail-on metrics --fail-on pipeline` or `--fail-on metrics,pipeline`. */
export function enumListOption<T extends string>(flag: string, values: readonly T[]) {
  const one = enumOption(flag, values);
  return (value: string, previous: T[] = []): T[] => [...previous, ...value.split(',').map((v) => one(v.trim()))];
}
