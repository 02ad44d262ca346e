/**
 * The repository lock: one mlo process at a time writes the cache, pointers and state of a repo.
 * The lock is a file created with O_EXCL holding the owner's pid; a lock whose owner is gone
 * (killed with SIGKILL, say) is taken over, so a crash never wedges the repo.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MloError, errnoCode } from '../../base/errors.js';
import type { Repo } from './repo.js';

interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface LockOptions {
  /** What the holder is doing, shown to a process that has to wait. */
  command: string;
  /** How long to wait for another process; default MLO_LOCK_TIMEOUT seconds or 5 s. */
  waitMs?: number;
}

export function lockPath(repo: Repo): string {
  return join(repo.tmpDir, 'lock');
}

export async function withRepoLock<T>(repo: Repo, options: LockOptions, fn: () => Promise<T> | T): Promise<T> {
  const release = await acquireRepoLock(repo, options);
  try {
    return await fn();
  } finally {
    release();
  }
}

export async function acquireRepoLock(repo: Repo, options: LockOptions): Promise<() => void> {
  const file = lockPath(repo);
  mkdirSync(repo.tmpDir, { recursive: true });
  const waitMs = options.waitMs ?? Number(process.env.MLO_LOCK_TIMEOUT ?? 5) * 1000;
  const deadline = Date.now() + waitMs;
  const me: LockOwner = { pid: process.pid, host: hostname(), command: options.command, since: new Date().toISOString() };
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    const owner = readOwner(file);
    if (owner ? isStale(owner) : isAbandoned(file)) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      const who = owner ? `process ${owner.pid} (mlo ${owner.command}, since ${owner.since})` : 'another process';
      throw new MloError('MLO_LOCKED', `the repository is locked by ${who}`, {
        hint: `wait for it to finish, or if no mlo process is running remove ${file}`,
        meta: { owner },
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    // Empty or half-written: by a process between its open and write, or one killed there (isAbandoned).
    return undefined;
  }
}

/**
 * A lock file nobody could read: its creator writes the owner right after creating it, so one that is
 * still unreadable after a few seconds was left by a process killed in between.
 */
const UNREADABLE_LOCK_GRACE_MS = 2000;

function isAbandoned(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs > UNREADABLE_LOCK_GRACE_MS;
  } catch {
    // Gone already: the next attempt creates it.
    return false;
  }
}

function isStale(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (err) {
    return errnoCode(err) === 'ESRCH';
  }
}
