/**
 * Which stage of a run may start next: a state machine over the stage graph, with no I/O and no
 * promises, so `mlo run` (run.ts) drives it and the unit tests step it by hand. A stage starts once
 * every upstream stage finished well, at most `jobs` at a time; a stage whose upstream failed (or was
 * skipped) is skipped; a failure stops new starts unless `keepGoing`, and `stop()` stops them for good.
 * Stages that finish synchronously (unchanged ones) count against no slot: the caller reports them
 * finished before asking for the next stage.
 */
import { MloError } from '../../base/errors.js';

export interface SchedulerOptions {
  /** The stages to run, upstream before downstream (topological order): stages start in this order. */
  names: string[];
  /** Each stage's upstream stages; those not in `names` are ignored. */
  upstream: Map<string, Iterable<string>>;
  /** Stages running at the same time (at least 1). */
  jobs?: number;
  /** After a failure, go on with the stages that do not depend on it. */
  keepGoing?: boolean;
}

export interface Scheduler {
  /**
   * The next stage that may start now, or undefined (none is ready, the jobs are all taken, or the run
   * stopped). Stages it passes whose upstream did not finish well are marked skipped on the way.
   */
  next(): string | undefined;
  started(name: string): void;
  /** `ok`: the stage succeeded (or had nothing to do); otherwise its downstream is skipped. */
  finished(name: string, ok: boolean): void;
  /**
   * A stage failed but still holds its slot (its end hooks run): without keepGoing, no other stage
   * starts from now on, as if it had finished.
   */
  failing(name: string): void;
  /** No stage starts any more (an abort, or an error that ends the run). */
  stop(): void;
  /** Nothing runs and nothing can start. */
  done(): boolean;
  /** Stages skipped because an upstream stage did not finish well, with that upstream stage. */
  skipped(): Map<string, string>;
  /** Stages that never started and were not skipped (the run stopped first), in run order. */
  unstarted(): string[];
}

type State = 'waiting' | 'running' | 'ok' | 'failed' | 'skipped';

export function createScheduler(options: SchedulerOptions): Scheduler {
  const { names, keepGoing = false } = options;
  const jobs = Math.max(1, options.jobs ?? 1);
  const position = new Map(names.map((n, i) => [n, i]));
  const ups = names.map((n, i) => {
    const mine = [...(options.upstream.get(n) ?? [])].filter((u) => position.has(u));
    const late = mine.find((u) => position.get(u)! > i);
    if (late) throw new MloError('MLO_INTERNAL', `stage '${late}' is upstream of '${n}' but comes after it`);
    return mine.map((u) => position.get(u)!);
  });
  const state: State[] = names.map(() => 'waiting');
  const blockedBy = new Map<string, string>();
  let running = 0;
  let stopped = false;
  // Every waiting stage before `from` waits on a running stage, and a stage only becomes ready (or
  // skipped) when an upstream stage finishes, which moves `from` back to just after that stage: each
  // scan starts where one could find something, so a no-op pipeline is settled in one pass.
  let from = 0;
  const isBad = (u: number) => state[u] === 'failed' || state[u] === 'skipped';

  const at = (name: string): number => {
    const i = position.get(name);
    if (i === undefined) throw new MloError('MLO_INTERNAL', `stage '${name}' is not scheduled`);
    return i;
  };

  const next = (): string | undefined => {
    if (stopped || running >= jobs) return undefined;
    for (; from < names.length; from++) {
      if (state[from] !== 'waiting') continue;
      const blocked = ups[from].find(isBad);
      if (blocked !== undefined) {
        state[from] = 'skipped';
        blockedBy.set(names[from], names[blocked]);
      } else if (ups[from].every((u) => state[u] === 'ok')) {
        return names[from];
      }
    }
    return undefined;
  };

  return {
    next,
    started(name) {
      const i = at(name);
      if (state[i] !== 'waiting') throw new MloError('MLO_INTERNAL', `stage '${name}' started twice`);
      state[i] = 'running';
      running++;
    },
    finished(name, ok) {
      const i = at(name);
      if (state[i] !== 'running') throw new MloError('MLO_INTERNAL', `stage '${name}' finished but was not running`);
      state[i] = ok ? 'ok' : 'failed';
      running--;
      if (!ok && !keepGoing) stopped = true;
      from = Math.min(from, i + 1);
    },
    failing() {
      if (!keepGoing) stopped = true;
    },
    stop() {
      stopped = true;
    },
    done() {
      return running === 0 && next() === undefined;
    },
    skipped() {
      return new Map(blockedBy);
    },
    unstarted() {
      return names.filter((_, i) => state[i] === 'waiting');
    },
  };
}
