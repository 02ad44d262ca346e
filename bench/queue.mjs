#!/usr/bin/env node
/**
 * The shared queue (docs/queue.md) on loopback: a real redis-server, a bare git remote, a folder mlo
 * remote, workers as `mlo queue worker --exit-when-empty` processes in their own clones.
 *
 *   1. Eight jobs of a 2-second stage: one worker, then two (two clones); target: two take at most
 *      0.55x the time of one.
 *   2. The queue's own overhead per job, one worker already waiting, jobs submitted one at a time:
 *      submit -> a worker takes it (BullMQ), taken -> the stage starts (fetch, worktree, pull), and the
 *      stage ends -> the job is done (push, run record published); target for the first and last:
 *      under 200 ms.
 *
 *   node bench/queue.mjs            (after npm run build; needs redis-server and ioredis)
 *   BENCH_QUICK=1 node bench/queue.mjs   fewer overhead samples
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MLO, QUICK, ROOT, fmt, has, median, report } from './lib.mjs';

const REDIS = process.env.MLO_TEST_REDIS_SERVER || 'redis-server';
const STAGE_MS = 2000;
const JOBS = 8;
const SAMPLES = QUICK ? 3 : 8;

function skipReason() {
  if (!has(REDIS)) return `${REDIS} is not on PATH`;
  try {
    createRequire(join(ROOT, 'package.json')).resolve('ioredis');
  } catch {
    return 'ioredis (the Redis client BullMQ needs) is not installed';
  }
  return undefined;
}

const skip = skipReason();
if (skip) {
  console.log(`skipped: ${skip}`);
  process.exit(0);
}

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b', NO_COLOR: '1' };
const work = mkdtempSync(join(tmpdir(), 'mlo-bench-queue-'));
const children = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function sh(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, env: gitEnv, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}
const mlo = (cwd, ...args) => sh(process.execPath, [MLO, ...args], cwd);

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const port = await freePort();
const redis = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
children.push(redis);
await new Promise((resolve) => redis.stdout.on('data', (d) => /Ready to accept/.test(String(d)) && resolve()));

// The stage waits STAGE_MS and records when it started and ended (wall clock, as BullMQ's timestamps).
const TRAIN = `const t0 = Date.now();
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${STAGE_MS});
const fs = require('fs');
const i = /^i:\\s*(\\S+)/m.exec(fs.readFileSync('params.yaml', 'utf8'))[1];
fs.mkdirSync('out', { recursive: true });
fs.writeFileSync('out/result.txt', 'job ' + i + '\\n');
fs.writeFileSync('metrics.json', JSON.stringify({ stage_start: t0, stage_end: Date.now() }));
`;
const origin = join(work, 'origin.git');
sh('git', ['init', '-q', '--bare', '-b', 'main', origin]);
const submitter = join(work, 'submitter');
sh('git', ['init', '-q', '-b', 'main', submitter]);
writeFileSync(join(submitter, 'train.cjs'), TRAIN);
writeFileSync(join(submitter, 'params.yaml'), 'i: 0\n');
writeFileSync(
  join(submitter, 'mlo.yaml'),
  'stages:\n  train:\n    cmd: node train.cjs\n    deps: [train.cjs]\n    params: [i]\n    outs: [out]\n    metrics:\n      - metrics.json:\n          cache: false\n',
);
mlo(submitter, 'init');
mlo(submitter, 'remote', 'add', '--default', 'shared', join(work, 'mlo-remote'));
const config = join(submitter, '.mlo', 'config.yaml');
writeFileSync(config, `${readFileSync(config, 'utf8')}queue:\n  broker: redis://127.0.0.1:${port}/0\n`);
sh('git', ['add', '-A'], submitter);
sh('git', ['commit', '-q', '-m', 'bench'], submitter);
sh('git', ['remote', 'add', 'origin', origin], submitter);
sh('git', ['push', '-q', 'origin', 'main'], submitter);

let clones = 0;
function clone() {
  const dir = join(work, `worker-${++clones}`);
  sh('git', ['clone', '-q', origin, dir]);
  return dir;
}

/** A worker process; resolves with its exit code. */
function worker(dir, db, ...args) {
  const child = spawn(process.execPath, [MLO, 'queue', 'worker', ...args], {
    cwd: dir,
    env: { ...gitEnv, MLO_QUEUE_BROKER: `redis://127.0.0.1:${port}/${db}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return {
    child,
    done: new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}: ${err}`))))),
  };
}

/** Queues `-S set` on the broker database chosen by submitEnv. */
function submit(set) {
  return JSON.parse(sh(process.execPath, [MLO, 'exp', 'run', '--queue', '-S', set, '--json'], submitter));
}
function submitEnv(db) {
  gitEnv.MLO_QUEUE_BROKER = `redis://127.0.0.1:${port}/${db}`;
}

/**
 * Seconds from starting `n` workers (each in its own clone) on a queue of JOBS jobs until all exit.
 * Each grid has params of its own (`first`): with the same ones, the second grid's stages would be
 * restored from the run cache the first pushed, and not run at all.
 */
async function grid(db, n, first) {
  submitEnv(db);
  submit(`i=range(${first},${first + JOBS})`);
  const dirs = Array.from({ length: n }, clone);
  const t0 = process.hrtime.bigint();
  await Promise.all(dirs.map((d) => worker(d, db, '--exit-when-empty').done));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const one = await grid(1, 1, 0);
const two = await grid(2, 2, JOBS);
const ratio = two / one;
report(`${JOBS} jobs of a ${STAGE_MS / 1000}-second stage`, [
  ['1 worker', fmt.s(one), '-', '-', '-', '-', '-'],
  ['2 workers (2 clones)', fmt.s(two), '1 worker', fmt.s(one), fmt.x(ratio), '<= 0.55x', ratio <= 0.55 ? 'yes' : 'NO'],
]);

// Overhead: one waiting worker, one job at a time.
submitEnv(3);
const w = worker(clone(), 3);
await new Promise((r) => setTimeout(r, 1500));
const toStart = [];
const toStage = [];
const toRecorded = [];
for (let k = 0; k < SAMPLES; k++) {
  const { queued } = submit(`i=${1000 + k}`);
  const run = queued[0].run;
  let job;
  for (;;) {
    job = JSON.parse(mlo(submitter, 'queue', 'status', '--json')).jobs.find((j) => j.run === run);
    if (job.state === 'finished' || job.state === 'failed') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (job.state !== 'finished') throw new Error(`job ${run} failed: ${job.error}`);
  mlo(submitter, 'exp', 'pull');
  const shown = JSON.parse(mlo(submitter, 'exp', 'show', '--json')).runs.find((r) => r.id === run);
  toStart.push(job.startedAt - job.queuedAt);
  toStage.push(shown.metrics.stage_start - job.startedAt);
  toRecorded.push(job.endedAt - shown.metrics.stage_end);
}
w.child.kill('SIGTERM');
await w.done;
const ms = (x) => `${Math.round(x)} ms`;
const mStart = median(toStart);
const mStage = median(toStage);
const mRecorded = median(toRecorded);
report(`queue overhead per job (median of ${SAMPLES}, loopback)`, [
  ['submit -> taken by a worker', ms(mStart), 'target', '200 ms', '-', '< 200 ms', mStart < 200 ? 'yes' : 'NO'],
  ['taken -> stage starts (fetch, worktree, pull)', ms(mStage), '-', '-', '-', '-', '-'],
  ['stage ends -> recorded (push, publish)', ms(mRecorded), 'target', '200 ms', '-', '< 200 ms', mRecorded < 200 ? 'yes' : 'NO'],
]);
// The redis-server child (its stdout piped) would keep this process alive: stop it, then leave.
redis.kill('SIGTERM');
process.exit(0);
