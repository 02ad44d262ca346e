/**
 * `mlo exp run --queue -S ...` with a broker: one BullMQ job per grid point. A job names a commit, so
 * the workspace must be that commit (tracked files unchanged) and the commit must be on the git remote
 * (workers fetch it from there); both are checked here, so a grid never fails on every worker at once.
 */
import { MloError } from '../../base/errors.js';
import { fetchGitRemote, gitRemoteUrl, gitUser, headCommit, modifiedFiles, noGitRemote, prefixInGit, remoteBranchesContaining } from '../../base/git.js';
import { newRunId } from '../tracking/db.js';
import { parseOverrides } from '../tracking/runexp.js';
import { paramKey } from '../tracking/setparams.js';
import { resolveRemote } from '../repo/remote-config.js';
import { MLO_DIR } from '../repo/names.js';
import type { Repo } from '../repo/repo.js';
import type { Broker } from './broker.js';
import type { JobSpec } from './job.js';

/** The git remote jobs' commits must be on. */
export const GIT_REMOTE = 'origin';

export interface SubmitOptions {
  set: string[];
  name?: string;
  experiment?: string;
  targets: string[];
  force?: boolean;
  /** How the user asked for it, recorded on each run. */
  command: string;
  /** mlo remote name (default: core.remote, or the only one). */
  remote?: string;
}

export interface SubmittedRun {
  run: string;
  name: string | null;
  params: Record<string, string>;
}

export interface SubmitResult {
  queue: string;
  commit: string;
  remote: string;
  queued: SubmittedRun[];
}

/** Checks that workers can run this workspace's commit, and returns it. */
export function pushedCommit(repo: Repo): string {
  const commit = headCommit(repo.root);
  if (!commit) {
    throw new MloError('MLO_NO_COMMIT', 'queued runs start from a commit, and this repository has none yet', {
      hint: 'commit mlo.yaml and your code, push them, then queue again',
    });
  }
  const prefix = prefixInGit(repo.root);
  const changed = modifiedFiles(repo.root).filter((f) => f.startsWith(prefix) && !f.slice(prefix.length).startsWith(`${MLO_DIR}/`));
  if (changed.length) {
    throw new MloError(
      'MLO_QUEUE_DIRTY',
      `workers run commit ${commit.slice(0, 7)}, and ${changed.length === 1 ? 'this file differs' : 'these files differ'} from it: ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', ...' : ''}`,
      { hint: 'commit and git push them (params changed with -S need no commit), then queue again' },
    );
  }
  if (!gitRemoteUrl(repo.root, GIT_REMOTE)) throw noGitRemote(GIT_REMOTE);
  fetchGitRemote(repo.root, GIT_REMOTE);
  if (remoteBranchesContaining(repo.root, GIT_REMOTE, commit).length === 0) {
    throw new MloError('MLO_COMMIT_NOT_PUSHED', `commit ${commit.slice(0, 7)} is not on the git remote '${GIT_REMOTE}' (no branch there contains it)`, {
      hint: 'git push it, then queue again: workers fetch the commit from the git remote',
    });
  }
  return commit;
}

export async function submitGrid(repo: Repo, broker: Broker, options: SubmitOptions): Promise<SubmitResult> {
  const combos = parseOverrides(options.set);
  const commit = pushedCommit(repo);
  // Workers push outputs there and publish the run record there: a grid without one would be lost.
  const remote = resolveRemote(repo, options.remote).name;
  const gitUrl = gitRemoteUrl(repo.root, GIT_REMOTE) ?? null;
  const submittedBy = gitUser(repo.root) ?? null;
  const queued: SubmittedRun[] = [];
  const jobs = combos.map((overrides, i) => {
    const run = queueRunId();
    const name = options.name ? (combos.length > 1 ? `${options.name}-${i + 1}` : options.name) : null;
    const spec: JobSpec = {
      schema: 1,
      run,
      name,
      experiment: options.experiment ?? 'default',
      commit,
      gitUrl,
      overrides,
      targets: options.targets,
      force: Boolean(options.force),
      remote,
      command: options.command,
      submittedBy,
    };
    queued.push({
      run,
      name,
      params: Object.fromEntries(overrides.map((o) => [paramKey(o.file, o.key), typeof o.value === 'string' ? o.value : JSON.stringify(o.value)])),
    });
    // The run id is the job id: BullMQ refuses a second job with one id, and the record's key is it too.
    return { name: 'run', data: spec, opts: { jobId: run, attempts: broker.settings.attempts, removeOnComplete: false, removeOnFail: false } };
  });
  await broker.queue.addBulk(jobs);
  return { queue: broker.settings.queue, commit, remote, queued };
}

/**
 * A run id BullMQ accepts as a job id: it refuses ids that read as integers, and one hex id in about
 * 280 is all digits (12 hex characters), which failed a whole `exp run --queue` grid now and then.
 */
function queueRunId(): string {
  for (;;) {
    const run = newRunId();
    if (!/^\d+$/.test(run)) return run;
  }
}
