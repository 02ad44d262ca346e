/** `mlo queue status`, `logs` and `cancel` against the shared queue: BullMQ's own job states and logs. */
import type { Job } from 'bullmq';
import { MloError } from '../../base/errors.js';
import { cancelKey, type Broker } from './broker.js';
import { jobSpecSchema } from './job.js';
import { paramKey } from '../tracking/setparams.js';

export type JobState = 'waiting' | 'active' | 'finished' | 'failed';

export interface JobEntry {
  run: string;
  name: string | null;
  state: JobState;
  params: Record<string, string>;
  commit: string | null;
  /** The worker running it (active) or that ran it last. */
  worker: string | null;
  /** Active jobs: since they started; ended ones: how long the last attempt took. */
  elapsedMs: number | null;
  /** Times a worker took it: more than 1 after a worker died (or returned it) mid-job. */
  attempts: number;
  /** When it was submitted, when a worker took it (last attempt) and when it ended (ms since the epoch). */
  queuedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  /** Failed jobs: why. */
  error: string | null;
}

const STATES: Record<string, JobState> = {
  waiting: 'waiting',
  prioritized: 'waiting',
  delayed: 'waiting',
  active: 'active',
  completed: 'finished',
  failed: 'failed',
};

function entryOf(job: Job, state: JobState, now: number): JobEntry {
  const spec = jobSpecSchema.safeParse(job.data);
  const progress = job.progress as { worker?: string } | undefined;
  const started = job.processedOn ?? null;
  return {
    run: String(job.id),
    name: spec.success ? spec.data.name : null,
    state,
    params: spec.success ? Object.fromEntries(spec.data.overrides.map((o) => [paramKey(o.file, o.key), String(o.value)])) : {},
    commit: spec.success ? spec.data.commit : null,
    worker: job.processedBy ?? (typeof progress === 'object' ? progress?.worker : undefined) ?? null,
    elapsedMs: started === null ? null : state === 'active' ? now - started : job.finishedOn ? job.finishedOn - started : null,
    // Started, not made: BullMQ counts a finished attempt in attemptsMade, and a dead worker's job
    // (moved back by the stalled check) not at all, so only attemptsStarted shows the rerun.
    attempts: job.attemptsStarted ?? job.attemptsMade,
    queuedAt: job.timestamp,
    startedAt: started,
    endedAt: job.finishedOn ?? null,
    error: state === 'failed' ? (job.failedReason ?? null) : null,
  };
}

/** Every job of the queue, oldest first. */
export async function queueJobs(broker: Broker): Promise<JobEntry[]> {
  const now = Date.now();
  const out: JobEntry[] = [];
  for (const [type, state] of Object.entries(STATES)) {
    const jobs = (await broker.queue.getJobs(type as never, 0, -1, true)) as unknown as Job[];
    for (const job of jobs) if (job) out.push(entryOf(job, state, now));
  }
  // A grid is submitted in one call, its jobs often in one millisecond: then in grid order (by name).
  return out.sort((a, b) => a.queuedAt - b.queuedAt || (a.name ?? '').localeCompare(b.name ?? '', 'en', { numeric: true }) || a.run.localeCompare(b.run));
}

/** The job whose run id is `ref` or starts with it, or whose run name is `ref`. */
export async function findJob(broker: Broker, ref: string): Promise<JobEntry> {
  const all = await queueJobs(broker);
  const exact = all.find((j) => j.run === ref);
  if (exact) return exact;
  const matches = all.filter((j) => j.run.startsWith(ref) || j.name === ref);
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new MloError(
      'MLO_AMBIGUOUS_RUN',
      `'${ref}' matches ${matches.length} jobs: ${matches
        .slice(0, 5)
        .map((m) => m.run)
        .join(', ')}`,
      {
        hint: 'give more characters of the run id',
      },
    );
  }
  throw new MloError('MLO_UNKNOWN_JOB', `no job of queue '${broker.settings.queue}' has run id or name '${ref}'`, { hint: 'list them with mlo queue status' });
}

/** The job's log lines from `from` on, and whether the job has ended (no more will come). */
export async function jobLog(broker: Broker, run: string, from = 0): Promise<{ lines: string[]; ended: boolean; state: JobState }> {
  const { logs } = await broker.queue.getJobLogs(run, from, -1, true);
  const raw = await broker.queue.getJobState(run);
  const state = STATES[raw] ?? 'waiting';
  return { lines: logs, ended: state === 'finished' || state === 'failed', state };
}

export interface CancelResult {
  /** Waiting jobs removed from the queue. */
  removed: string[];
  /** Running jobs whose workers were asked to stop them. */
  stopping: string[];
  /** Jobs that had already ended (nothing to cancel). */
  ended: string[];
}

export async function cancelJobs(broker: Broker, targets: JobEntry[]): Promise<CancelResult> {
  const r: CancelResult = { removed: [], stopping: [], ended: [] };
  for (const j of targets) {
    if (j.state === 'finished' || j.state === 'failed') {
      r.ended.push(j.run);
      continue;
    }
    if (j.state === 'waiting') {
      const job = await broker.queue.getJob(j.run);
      // It may have started meanwhile: a locked job refuses removal, and is then stopped as running.
      const gone = await (job as unknown as Job | undefined)?.remove().then(
        () => true,
        () => false,
      );
      if (gone) {
        r.removed.push(j.run);
        continue;
      }
    }
    await broker.client.set(cancelKey(broker.settings, j.run), '1', 'EX', 24 * 3600);
    r.stopping.push(j.run);
  }
  return r;
}
