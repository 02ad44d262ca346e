/**
 * The option shapes commander hands to command bodies: each area declares the flags, each command
 * reads them. Here because both sides need them and a command never imports an area.
 */
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
