/** What push, fetch, pull, status --cloud and gc --cloud take: scope, targets, remote, concurrency, progress. */
import { withRepoLock } from '../repo/lock.js';
import type { Repo } from '../repo/repo.js';
import type { GcScope } from './keep.js';

export type SyncScope = Omit<GcScope, 'workspace'>;

/** Progress callbacks (the CLI draws a bar from them). */
export interface SyncProgress {
  /** The transfer about to start: how many objects and bytes. */
  start?(phase: 'upload' | 'download', totals: { objects: number; bytes: number }): void;
  bytes?(n: number): void;
  object?(): void;
  done?(): void;
}

export interface SyncOptions extends SyncScope {
  cwd: string;
  targets?: string[];
  /** Remote name; default `core.remote`, or the only remote. */
  remote?: string;
  /** Concurrent requests; default the remote's `jobs`, else 32 for S3 and 8 for folders. */
  jobs?: number;
  progress?: SyncProgress;
  /** The caller already holds the repository lock (e.g. `mlo run --pull`); it is not taken again. */
  locked?: boolean;
  /** Also transfer the run cache: its entries and the objects their outs need (`--run-cache`). */
  runCache?: boolean;
  /**
   * push: ask the remote about every object instead of trusting the remote index (`--verify`), and
   * upload what it lacks; the index is corrected on the way.
   */
  verify?: boolean;
}

/** Runs `fn` under the repository lock, unless the caller already holds it (`options.locked`). */
export function withLockUnlessHeld<T>(repo: Repo, options: SyncOptions, command: string, fn: () => Promise<T>): Promise<T> {
  return options.locked ? fn() : withRepoLock(repo, { command }, fn);
}
