/**
 * The shared queue end to end: a bare git remote, a folder mlo remote, a real redis-server, and
 * workers as real `mlo queue worker` processes in their own clones. Lock and stalled-check times are
 * cut to seconds through $MLO_QUEUE_LOCK_MS / $MLO_QUEUE_STALLED_MS so a killed worker's job comes back
 * quickly; nothing here asserts on timing.
 */
import { execa, type ResultPromise } from 'execa';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GIT_ENV, MLO_BIN, git, json, mlo, mloWith, read, tempDir } from '../helpers.js';
import { TREE } from '../tracking/fixture.js';
import { makeRepo } from '../helpers.js';
import { freePort, redisSkipReason, startRedis, type RedisServer } from './redis.js';

const skip = redisSkipReason();

/** The fixture's training script, slowed by $TRAIN_MS so a job is still running when a test acts. */
const SLOW_TRAIN = `const ms = Number(process.env.TRAIN_MS || 0); if (ms) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);\n${TREE['train.cjs']}`;

const WORKER_ENV = { MLO_QUEUE_LOCK_MS: '2000', MLO_QUEUE_STALLED_MS: '1000' };

interface Shared {
  origin: string;
  remote: string;
  submitter: string;
  /** A fresh clone of the git remote (a worker's machine, or a colleague's). */
  clone(name: string): Promise<string>;
}

/** The submitter's repository, pushed to a bare git remote, with a folder mlo remote and the broker committed. */
async function shared(broker: string, extra: Record<string, string> = {}): Promise<Shared> {
  const base = tempDir('mlo-queue-');
  const origin = join(base, 'origin.git');
  const remote = join(base, 'mlo-remote');
  await execa('git', ['init', '-q', '--bare', '-b', 'main', origin]);
  const submitter = await makeRepo({ ...TREE, 'train.cjs': SLOW_TRAIN, ...extra });
  expect((await mlo(submitter, 'remote', 'add', '--default', 'shared', remote)).exitCode).toBe(0);
  const config = join(submitter, '.mlo', 'config.yaml');
  writeFileSync(config, `${readFileSync(config, 'utf8')}queue:\n  broker: ${broker}\n  attempts: 3\n`);
  await git(submitter, 'add', '-A');
  await git(submitter, 'commit', '-q', '-m', 'pipeline');
  await git(submitter, 'remote', 'add', 'origin', origin);
  await git(submitter, 'push', '-q', 'origin', 'main');
  return {
    origin,
    remote,
    submitter,
    clone: async (name) => {
      const dir = join(base, name);
      // --no-local: a local clone hard-links every object of the remote, even unreachable ones, so it
      // would hold commits no fetch from another machine brings.
      await git(base, 'clone', '-q', '--no-local', origin, dir);
      return dir;
    },
  };
}

function startWorker(cwd: string, env: Record<string, string> = {}, ...args: string[]): ResultPromise<{ reject: false }> {
  return execa(process.execPath, [MLO_BIN, 'queue', 'worker', ...args], {
    cwd,
    env: { ...GIT_ENV, NO_COLOR: '1', ...WORKER_ENV, ...env },
    reject: false,
    timeout: 90_000,
  }) as unknown as ResultPromise<{ reject: false }>;
}

async function statusOf(
  cwd: string,
): Promise<
  { run: string; name: string | null; state: string; worker: string | null; attempts: number; error: string | null; params: Record<string, string> }[]
> {
  const r = await mlo(cwd, 'queue', 'status', '--json');
  expect(r.exitCode, r.stderr).toBe(0);
  return json(r).jobs;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(skip)(`mlo queue on a Redis broker${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('runs a 6-job grid on two workers in two clones: each run recorded once, outputs on the remote, applied in a third clone', async () => {
    const s = await shared(`${redis.url.replace(/\/0$/, '/1')}`);
    const q = await mlo(s.submitter, 'exp', 'run', '--queue', '-S', 'lr=0.1,0.2,0.3', '-S', 'model.depth=1,2', '-n', 'grid', '--json');
    expect(q.exitCode, q.stderr).toBe(0);
    const queued = json(q).queued as { run: string; name: string; params: Record<string, string> }[];
    expect(queued).toHaveLength(6);
    expect(new Set(queued.map((r) => JSON.stringify(r.params))).size).toBe(6);
    expect(new Set(queued.map((r) => r.run)).size).toBe(6);
    expect((await statusOf(s.submitter)).map((j) => j.state)).toEqual(Array(6).fill('waiting'));

    // Jobs of 1.5 s: long enough that the second worker to start still finds jobs waiting.
    const [w1, w2] = [await s.clone('w1'), await s.clone('w2')];
    const [r1, r2] = await Promise.all([
      startWorker(w1, { TRAIN_MS: '1500' }, '--exit-when-empty'),
      startWorker(w2, { TRAIN_MS: '1500' }, '--exit-when-empty', '-c', '2'),
    ]);
    expect(r1.exitCode, r1.stderr).toBe(0);
    expect(r2.exitCode, r2.stderr).toBe(0);

    const status = await statusOf(s.submitter);
    expect(status.map((j) => j.state)).toEqual(Array(6).fill('finished'));
    // Each job ran once, and both workers (two processes, two clones) took some.
    expect(status.map((j) => j.attempts)).toEqual(Array(6).fill(1));
    expect(new Set(status.map((j) => j.worker)).size).toBe(2);
    // One record per run on the mlo remote, under the run's id.
    expect(readdirSync(join(s.remote, 'exps')).sort()).toEqual(queued.map((r) => `${r.run}.json`).sort());

    const pulled = await mlo(s.submitter, 'exp', 'pull', '--json');
    expect(pulled.exitCode, pulled.stderr).toBe(0);
    expect(json(pulled).pulled.sort()).toEqual(queued.map((r) => r.run).sort());
    const show = json(await mlo(s.submitter, 'exp', 'show', '--json'));
    expect(show.runs).toHaveLength(6);
    for (const q of queued) {
      const run = show.runs.find((r: { id: string }) => r.id === q.run);
      expect(run, q.run).toMatchObject({ name: q.name, status: 'finished', params: q.params });
      const lr = Number(q.params.lr);
      const depth = Number(q.params['model.depth']);
      expect(run.metrics.acc).toBeCloseTo(Math.round((1 - lr + depth / 100) * 1000) / 1000);
    }

    // A third clone that ran nothing: every run's output comes from the mlo remote.
    const third = await s.clone('third');
    expect(json(await mlo(third, 'exp', 'pull', '--json')).pulled).toHaveLength(6);
    for (const q of queued) {
      const applied = await mlo(third, 'exp', 'apply', q.name, '--json');
      expect(applied.exitCode, applied.stderr).toBe(0);
      expect(json(applied).outs).toEqual({ restored: ['out/model.txt'], missing: [] });
      expect(read(third, 'out/model.txt')).toBe(`model lr=${q.params.lr} depth=${q.params['model.depth']}\n`);
    }

    const logs = await mlo(s.submitter, 'queue', 'logs', 'grid-2');
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/published run [0-9a-f]{12} \(finished\)/);
  }, 120_000);

  it('runs each job of a worker slot in a clean checkout: nothing a previous job left or changed leaks into the next', async () => {
    // The stage fails when it finds what it leaves behind: an untracked file, an ignored one, a changed tracked one.
    const probe = `{
const pfs = require('fs');
const dirty = ['stray.txt', 'scratch/kept.txt'].filter((f) => pfs.existsSync(f));
if (pfs.readFileSync('note.txt', 'utf8') !== 'clean\\n') dirty.push('note.txt');
if (dirty.length) { console.error('left by a previous job: ' + dirty.join(' ')); process.exit(1); }
pfs.writeFileSync('stray.txt', 'x');
pfs.mkdirSync('scratch', { recursive: true });
pfs.writeFileSync('scratch/kept.txt', 'x');
pfs.writeFileSync('note.txt', 'dirty\\n');
}
${SLOW_TRAIN}`;
    const s = await shared(`${redis.url.replace(/\/0$/, '/5')}`, {
      'train.cjs': probe,
      'note.txt': 'clean\n',
      'scratch/.gitignore': '*\n!.gitignore\n',
    });
    const q = await mlo(s.submitter, 'exp', 'run', '--queue', '-S', 'lr=0.1,0.2,0.3', '--json');
    expect(q.exitCode, q.stderr).toBe(0);
    // One worker, one slot: the three jobs run one after the other in the same place.
    const w = await startWorker(await s.clone('w'), {}, '--exit-when-empty', '-c', '1');
    expect(w.exitCode, w.stderr).toBe(0);
    const status = await statusOf(s.submitter);
    expect(status.map((j) => [j.state, j.error])).toEqual(Array(3).fill(['finished', null]));
    expect(new Set(status.map((j) => j.worker)).size).toBe(1);
    expect(readdirSync(join(s.remote, 'exps'))).toHaveLength(3);
  }, 120_000);

  it('gives a killed worker’s job to the other worker: nothing duplicated or lost', async () => {
    const s = await shared(`${redis.url.replace(/\/0$/, '/2')}`);
    const q = await mlo(s.submitter, 'exp', 'run', '--queue', '-S', 'lr=0.1,0.2', '--json');
    expect(q.exitCode, q.stderr).toBe(0);
    const runs = (json(q).queued as { run: string }[]).map((r) => r.run).sort();
    const doomed = startWorker(await s.clone('doomed'), { TRAIN_MS: '20000' });
    // The doomed worker is inside the training stage when it dies: its job was under way, not waiting.
    const victim = await until('a running job', async () => (await statusOf(s.submitter)).find((j) => j.state === 'active' && j.worker));
    await until('the stage to run', async () => {
      const log = json(await mlo(s.submitter, 'queue', 'logs', victim.run, '--json'));
      return log.lines.some((l: string) => l.startsWith("mlo: running stage 'train'")) ? true : undefined;
    });
    doomed.kill('SIGKILL');
    await doomed;
    const survivor = await startWorker(await s.clone('survivor'), { TRAIN_MS: '0' }, '--exit-when-empty');
    expect(survivor.exitCode, survivor.stderr).toBe(0);
    const status = await statusOf(s.submitter);
    expect(status.map((j) => j.state)).toEqual(['finished', 'finished']);
    // Both jobs ended on the survivor; the killed one took a second attempt there, the other one one.
    expect(status.every((j) => j.worker !== victim.worker)).toBe(true);
    expect(status.map((j) => [j.run, j.attempts]).sort()).toEqual(runs.map((r) => [r, r === victim.run ? 2 : 1]));
    expect(readdirSync(join(s.remote, 'exps')).sort()).toEqual(runs.map((r) => `${r}.json`));
    const pulled = json(await mlo(s.submitter, 'exp', 'pull', '--json'));
    expect(pulled.pulled.sort()).toEqual(runs);
    const show = json(await mlo(s.submitter, 'exp', 'show', '--json'));
    expect(show.runs.map((r: { id: string }) => r.id).sort()).toEqual(runs);
    expect(show.runs.map((r: { status: string }) => r.status)).toEqual(['finished', 'finished']);
    expect(show.runs.map((r: { params: { lr: string } }) => r.params.lr).sort()).toEqual(['0.1', '0.2']);
  }, 120_000);

  it('a job whose commit the worker cannot fetch fails with one clear error, and is not retried', async () => {
    const s = await shared(`${redis.url.replace(/\/0$/, '/3')}`);
    writeFileSync(join(s.submitter, 'note.txt'), 'x');
    await git(s.submitter, 'add', 'note.txt');
    await git(s.submitter, 'commit', '-q', '-m', 'note');
    await git(s.submitter, 'push', '-q', 'origin', 'main');
    expect((await mlo(s.submitter, 'exp', 'run', '--queue', '-S', 'lr=0.5')).exitCode).toBe(0);
    // The commit disappears from the git remote after it was queued (a force-push).
    await git(s.submitter, 'push', '-q', '-f', 'origin', 'HEAD~1:main');
    const w = await startWorker(await s.clone('w'), {}, '--exit-when-empty');
    expect(w.exitCode, w.stderr).toBe(1);
    const [job] = await statusOf(s.submitter);
    expect(job.state).toBe('failed');
    expect(job.attempts).toBe(1);
    expect(job.error).toMatch(/^commit [0-9a-f]{7} of run [0-9a-f]{12} is not on this worker's git remote 'origin'$/);
    // The worker says it once, on one line, and publishes no run.
    expect(w.stderr.split('\n').filter((l) => l.includes('is not on this worker'))).toHaveLength(1);
    expect(existsSync(join(s.remote, 'exps'))).toBe(false);
  });

  it('refuses to queue a commit that is not on the git remote, or a workspace that differs from it', async () => {
    const s = await shared(redis.url);
    writeFileSync(join(s.submitter, 'note.txt'), 'x');
    await git(s.submitter, 'add', 'note.txt');
    await git(s.submitter, 'commit', '-q', '-m', 'local only');
    const r = await mlo(s.submitter, 'exp', 'run', '--queue', '-S', 'lr=0.5');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: commit [0-9a-f]{7} is not on the git remote 'origin'/);
    await git(s.submitter, 'push', '-q', 'origin', 'main');
    writeFileSync(join(s.submitter, 'train.cjs'), 'changed');
    const dirty = await mlo(s.submitter, 'exp', 'run', '--queue', '-S', 'lr=0.5');
    expect(dirty.exitCode).toBe(1);
    expect(dirty.stderr).toMatch(/this file differs from it: train\.cjs/);
  });

  it('cancels waiting jobs', async () => {
    const s = await shared(`${redis.url.replace(/\/0$/, '/4')}`);
    expect((await mlo(s.submitter, 'exp', 'run', '--queue', '-S', 'lr=0.1,0.2,0.3', '-n', 'c')).exitCode).toBe(0);
    const one = json(await mlo(s.submitter, 'queue', 'cancel', 'c-2', '--json'));
    expect(one.removed).toHaveLength(1);
    expect((await statusOf(s.submitter)).map((j) => j.name).sort()).toEqual(['c-1', 'c-3']);
    const all = json(await mlo(s.submitter, 'queue', 'cancel', '--all', '--json'));
    expect(all.removed).toHaveLength(2);
    expect(await statusOf(s.submitter)).toEqual([]);
  });

  it('says so when the broker cannot be reached', async () => {
    const s = await shared(redis.url);
    const port = await freePort();
    const r = await mloWith({ cwd: s.submitter, env: { MLO_QUEUE_BROKER: `redis://127.0.0.1:${port}/0` } }, 'exp', 'run', '--queue', '-S', 'lr=0.5');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^error: the queue broker redis://127.0.0.1:${port}/0 cannot be reached: .*ECONNREFUSED`));
    expect(r.stderr.trim().split('\n')).toHaveLength(2);
    // A worker started against it stops at once with the same error, rather than retrying forever.
    const w = await startWorker(s.submitter, { MLO_QUEUE_BROKER: `redis://127.0.0.1:${port}/0` });
    expect(w.exitCode).toBe(1);
    expect(w.stderr).toMatch(new RegExp(`^error: the queue broker redis://127.0.0.1:${port}/0 cannot be reached: .*ECONNREFUSED`));
    expect(w.stderr.trim().split('\n')).toHaveLength(2);
  });
});

describe.skipIf(skip)(`mlo queue through a Redis restart${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('workers reconnect and the grid completes', async () => {
    const redis = await startRedis({ persistent: true });
    try {
      const s = await shared(redis.url);
      const q = await mlo(s.submitter, 'exp', 'run', '--queue', '-S', 'lr=0.1,0.2,0.3', '--json');
      expect(q.exitCode, q.stderr).toBe(0);
      const runs = (json(q).queued as { run: string }[]).map((r) => r.run).sort();
      const workers = [
        startWorker(await s.clone('w1'), { TRAIN_MS: '1500' }, '--exit-when-empty'),
        startWorker(await s.clone('w2'), { TRAIN_MS: '1500' }, '--exit-when-empty'),
      ];
      await until('a running job', async () => ((await statusOf(s.submitter)).some((j) => j.state === 'active') ? true : undefined));
      await redis.stop();
      // Gone long enough for both workers to notice (they poll it every 0.5 s).
      await new Promise((r) => setTimeout(r, 1500));
      await redis.start();
      const done = await Promise.all(workers);
      for (const w of done) expect(w.exitCode, w.stderr).toBe(0);
      expect(done.some((w) => /broker: .* \(reconnecting\)/.test(w.stderr))).toBe(true);
      const status = await statusOf(s.submitter);
      expect(status.map((j) => j.state)).toEqual(['finished', 'finished', 'finished']);
      expect(readdirSync(join(s.remote, 'exps')).sort()).toEqual(runs.map((r) => `${r}.json`));
      const pulled = json(await mlo(s.submitter, 'exp', 'pull', '--json'));
      expect(pulled.pulled.sort()).toEqual(runs);
      const show = json(await mlo(s.submitter, 'exp', 'show', '--json'));
      expect(show.runs.map((r: { params: { lr: string } }) => r.params.lr).sort()).toEqual(['0.1', '0.2', '0.3']);
    } finally {
      await redis.stop();
    }
  }, 120_000);
});

describe('mlo queue configuration (no broker needed)', () => {
  it('refuses a broker URL with a password in the committed config', async () => {
    const dir = await makeRepo(TREE);
    const config = join(dir, '.mlo', 'config.yaml');
    writeFileSync(config, `${readFileSync(config, 'utf8')}queue:\n  broker: redis://:s3cret@redis.internal:6379/0\n`);
    const r = await mlo(dir, 'queue', 'status');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: \.mlo\/config\.yaml: queue\.broker: credentials in a URL \(user:password@\) are refused in the committed config/);
    expect(r.stderr).not.toMatch(/s3cret/);
    // The same URL in the local (git-ignored) config is fine as far as the config goes.
    writeFileSync(config, readFileSync(config, 'utf8').replace(/queue:[\s\S]*$/, ''));
    writeFileSync(join(dir, '.mlo', 'config.local.yaml'), 'queue:\n  broker: ftp://:s3cret@redis.internal/0\n');
    const bad = await mlo(dir, 'queue', 'status');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/^error: queue\.broker 'ftp:\/\/\*\*\*@redis\.internal\/0': the scheme is ftp, not redis or rediss/);
  });

  it('needs a broker for worker and cancel, and names for cancel', async () => {
    const dir = await makeRepo(TREE);
    const w = await mlo(dir, 'queue', 'worker');
    expect(w.exitCode).toBe(1);
    expect(w.stderr).toMatch(/^error: mlo queue worker needs a queue broker, and queue\.broker is not set/);
    const c = await mlo(dir, 'queue', 'cancel');
    expect(c.exitCode).toBe(2);
  });

  it.skipIf(!skip?.startsWith('ioredis'))('says that the Redis client is missing when it is', async () => {
    const dir = await makeRepo(TREE);
    const r = await mloWith({ cwd: dir, env: { MLO_QUEUE_BROKER: 'redis://127.0.0.1:6379/0' } }, 'queue', 'status');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: the queue broker needs the Redis client ioredis, which is not installed/);
  });
});
