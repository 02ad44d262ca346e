/**
 * How mlo runs git, and the one error rule every git call follows:
 * - git that cannot be started at all throws MloError MLO_NO_GIT (install git);
 * - a git call that fails throws MloError MLO_GIT naming the git command and git's first stderr line,
 *   or a more specific code where mlo knows the cause (MLO_UNKNOWN_REV, MLO_BAD_BRANCH);
 * - only where a failure is an expected answer does a call return undefined (or false, '' or an
 *   empty list) instead; each such function says so in its comment, and `probeGit` is their runner.
 *
 * Two runners, chosen by the caller's shape, not by taste:
 * - `runGit`/`probeGit` are synchronous (spawnSync) for the hot synchronous paths (`mlo status` lists
 *   pointer files with `git ls-files`, a run records its git state) and for plumbing that simple-git
 *   has no parser for (ls-tree, hash-object, commit-tree, worktree, check-ignore);
 * - `withSimpleGit` hands async callers simple-git, for the output it parses for us (branch, log,
 *   status). It is loaded lazily: measured on this machine, importing simple-git costs 25-45 ms and
 *   each call ~1-2 ms more than spawnSync (5-7 ms against 4-6 ms for rev-parse/status/branch), so no
 *   start-up or no-op command pays for it.
 */
import { spawnSync } from 'node:child_process';
import type { SimpleGit, SimpleGitFactory } from 'simple-git';
import { MloError } from '../errors.js';

export interface GitRunOptions {
  input?: string | Buffer;
  /** Added to the process environment (e.g. GIT_INDEX_FILE). */
  env?: Record<string, string>;
}

interface GitResult {
  stdout: string;
  stderr: string;
  status: number;
}

/** The error for a git that cannot be started (not installed, not on PATH). */
export function noGit(detail: string): MloError {
  return new MloError('MLO_NO_GIT', `could not run git: ${detail}`, { hint: 'install git and put it on PATH' });
}

function spawnGit(cwd: string, args: string[], options: GitRunOptions): GitResult {
  const r = spawnSync('git', args, {
    cwd,
    input: options.input,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: options.env ? { ...process.env, ...options.env } : process.env,
  });
  if (r.error) throw noGit(r.error.message);
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? 1 };
}

/** The stdout of `git <args>`; throws MLO_GIT when git exits non-zero. */
export function runGit(cwd: string, args: string[], options: GitRunOptions = {}): string {
  const r = spawnGit(cwd, args, options);
  if (r.status !== 0) throw new MloError('MLO_GIT', `git ${args[0]} failed: ${r.stderr.trim().split('\n')[0]}`);
  return r.stdout;
}

/** The stdout of `git <args>`, or undefined when git exits non-zero: for calls whose failure is an answer. */
export function probeGit(cwd: string, args: string[], options: GitRunOptions = {}): string | undefined {
  const r = spawnGit(cwd, args, options);
  return r.status === 0 ? r.stdout : undefined;
}

let simpleGitFactory: Promise<SimpleGitFactory> | undefined;

/**
 * Runs `fn` with a simple-git instance at `cwd` (loaded on first use), turning its failures into the
 * error rule above. `what` names the git command for the message.
 */
export async function withSimpleGit<T>(cwd: string, what: string, fn: (git: SimpleGit) => Promise<T>): Promise<T> {
  simpleGitFactory ??= import('simple-git').then((m) => m.simpleGit);
  const simpleGit = await simpleGitFactory;
  try {
    return await fn(simpleGit({ baseDir: cwd }));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/\bENOENT\b/.test(message) && /spawn/.test(message)) throw noGit(message);
    throw new MloError('MLO_GIT', `git ${what} failed: ${message.trim().split('\n')[0]}`, { cause: err });
  }
}
