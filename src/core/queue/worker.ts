/**
 * `mlo queue worker`: a BullMQ worker that runs jobs in this clone (run-job.ts does one job).
 *
 * What BullMQ does for us: a job is held under a lock the worker renews while it runs; a worker that
 * dies stops renewing, and another worker's stalled-job check puts the job back in the queue (counted
 * against `attempts`). What is ours: a stage failure is the run's result, not a reason to retry
 * (UnrecoverableError); the first Ctrl-C or SIGTERM lets running jobs finish and takes no new ones, the
 * second stops them and gives them back to the queue at once (moveToWait) rather than after the lock
 * lapses; `mlo queue cancel` of a running job leaves a key in Redis that the worker polls.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import { isMloError } from '../../base/errors.js';
import { pruneWorktrees, removeWorktree } from '../../base/git.js';
import type { Repo } from '../repo/repo.js';
import { cancelKey, openBroker, workerName, type BrokerSettings } from './broker.js';
import { jobSpecSchema, type JobOutcome } from './job.js';
import { runJob } from './run-job.js';

export type WorkerEvent =
  | { type: 'ready'; worker: string; queue: string; concurrency: number }
  | { type: 'start'; run: string; name: string | null }
  | { type: 'end'; run: string; status: 'finished' | 'failed' | 'returned' | 'cancelled'; error?: string }
  | { type: 'broker'; message: string }
  | { type: 'stopping'; graceful: boolean };

export interface WorkerOptions {
  concurrency: number;
  /** Exit once the queue holds no waiting, delayed or running job. */
  exitWhenEmpty?: boolean;
  onEvent?: (e: WorkerEvent) => void;
}

export interface WorkerResult {
  worker: string;
  finished: string[];
  failed: { run: string; error: string }[];
  returned: string[];
}

/** A job stopped because the worker is shutting down (returned to the queue) or it was cancelled. */
type StopReason = 'shutdown' | 'cancel';

/** Milliseconds between polls for cancel requests and, with exitWhenEmpty, for an empty queue. */
const POLL_MS = 500;

export async function runWorker(repo: Repo, settings: BrokerSettings, options: WorkerOptions): Promise<WorkerResult> {
  const { Worker, UnrecoverableError, WaitingError } = await import('bullmq');
  const broker = await openBroker(settings, { reconnect: true });
  const name = workerName();
  const workRoot = join(repo.tmpDir, 'queue-work');
  clearDeadWork(repo, workRoot);
  const emit = (e: WorkerEvent) => options.onEvent?.(e);
  const result: WorkerResult = { worker: name, finished: [], failed: [], returned: [] };
  const running = new Map<string, { controller: AbortController; reason?: StopReason }>();
  // `git worktree add/remove` lock the clone's worktree list: one at a time across this worker's jobs.
  let gitChain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => T): Promise<T> => {
    const p = gitChain.then(fn);
    gitChain = p.catch(() => undefined);
    return p;
  };
  // One worktree per slot, reset for each job rather than added and removed (run-job.ts): a free
  // slot is taken when a job starts and given back when it ends.
  const ownWork = join(workRoot, String(process.pid));
  const freeSlots = Array.from({ length: options.concurrency }, (_, i) => options.concurrency - 1 - i);

  const processor = async (job: Job, token?: string): Promise<JobOutcome> => {
    const parsed = jobSpecSchema.safeParse(job.data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UnrecoverableError(`job ${job.id}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    }
    const spec = parsed.data;
    const slot = { controller: new AbortController(), reason: undefined as StopReason | undefined };
    running.set(spec.run, slot);
    emit({ type: 'start', run: spec.run, name: spec.name });
    // Logs go to the job's BullMQ log (`mlo queue logs`) in order; a broker hiccup loses lines, not the run.
    let logs: Promise<unknown> = job.updateProgress({ worker: name, started: Date.now() }).catch(() => undefined);
    const log = (line: string) => {
      logs = logs.then(() => job.log(line)).catch(() => undefined);
    };
    const slotIndex = freeSlots.pop();
    try {
      if (slotIndex === undefined) throw new Error(`worker ${name} took more jobs than its ${options.concurrency} slots`);
      const dir = join(ownWork, `slot-${slotIndex}`);
      const r = await runJob({ repo, spec, dir, worker: name, signal: slot.controller.signal, log, serial });
      await logs;
      if (r.status === 'interrupted') {
        if (slot.reason === 'cancel') throw new UnrecoverableError('cancelled (mlo queue cancel)');
        // Shutting down: back to the queue now, not after the lock lapses.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (r.status === 'failed') throw new UnrecoverableError(r.error ?? 'the pipeline failed');
      return { run: spec.run, status: 'finished', metrics: r.metrics, worker: name };
    } catch (err) {
      await logs;
      // A commit no git fetch brings will not appear by retrying.
      if (isMloError(err, 'MLO_COMMIT_NOT_PUSHED')) throw new UnrecoverableError(err.message);
      if (isMloError(err)) {
        log(`mlo: ${err.message}`);
        throw new Error(err.message);
      }
      throw err;
    } finally {
      running.delete(spec.run);
      if (slotIndex !== undefined) freeSlots.push(slotIndex);
    }
  };

  // BullMQ does not close a connection it was handed: ours, closed below.
  const connection = broker.connect();
  const worker = new Worker(settings.queue, processor, {
    connection: connection as never,
    concurrency: options.concurrency,
    lockDuration: settings.lockMs,
    stalledInterval: settings.stalledMs,
    maxStalledCount: settings.attempts,
    name,
    autorun: false,
  });
  let lastBrokerError = 0;
  worker.on('error', (err) => {
    // While Redis is away every command fails; one line every few seconds says so.
    if (Date.now() - lastBrokerError < 5000) return;
    lastBrokerError = Date.now();
    emit({ type: 'broker', message: `broker: ${err.message} (reconnecting)` });
  });
  worker.on('completed', (job) => {
    result.finished.push(String(job.id));
    emit({ type: 'end', run: String(job.id), status: 'finished' });
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const cancelled = err.message.startsWith('cancelled');
    if (!cancelled) result.failed.push({ run: String(job.id), error: err.message });
    emit({ type: 'end', run: String(job.id), status: cancelled ? 'cancelled' : 'failed', error: err.message });
  });

  let stopping = false;
  const stop = (graceful: boolean) => {
    emit({ type: 'stopping', graceful });
    if (!graceful) {
      for (const [run, slot] of running) {
        slot.reason = 'shutdown';
        slot.controller.abort();
        result.returned.push(run);
      }
    }
    if (!stopping) {
      stopping = true;
      void worker.close();
    }
  };
  const onSignal = () => stop(!stopping);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const poll = setInterval(() => {
    void (async () => {
      for (const [run, slot] of running) {
        if (slot.reason) continue;
        if ((await broker.client.exists(cancelKey(settings, run)).catch(() => 0)) > 0) {
          slot.reason = 'cancel';
          slot.controller.abort();
          await broker.client.del(cancelKey(settings, run)).catch(() => 0);
        }
      }
      if (options.exitWhenEmpty && !stopping && running.size === 0) {
        const counts = await broker.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized').catch(() => undefined);
        if (counts && Object.values(counts).every((n) => n === 0)) stop(true);
      }
    })();
  }, POLL_MS);

  emit({ type: 'ready', worker: name, queue: settings.queue, concurrency: options.concurrency });
  try {
    await worker.run();
  } finally {
    clearInterval(poll);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await worker.close().catch(() => undefined);
    await gitChain;
    // A clean-up that fails leaves folders that the next worker's clearDeadWork removes.
    for (const slot of existsSync(ownWork) ? readdirSync(ownWork) : []) removeWorktree(repo.root, join(ownWork, slot, 'wt'));
    rmSync(ownWork, { recursive: true, force: true });
    connection.disconnect();
    await broker.close();
  }
  return result;
}

/** Work folders of this clone's workers that are no longer running (killed mid-job), and their worktrees. */
function clearDeadWork(repo: Repo, workRoot: string): void {
  if (!existsSync(workRoot)) return;
  for (const pid of readdirSync(workRoot)) {
    if (alive(Number(pid))) continue;
    rmSync(join(workRoot, pid), { recursive: true, force: true });
  }
  pruneWorktrees(repo.root);
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: a process of another user has that pid, so it is alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
