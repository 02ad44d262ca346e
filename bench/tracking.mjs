// Tracking benchmarks (issue 5), ratios in one run:
//  1. ingest 1,000,000 metric points vs raw better-sqlite3 inserts in one transaction (the limit), >= 0.5x;
//  2. `mlo exp show` over 10,000 runs x 20 metrics, < 300 ms beyond `node -e 0`;
//  3. `mlo metrics diff main feature` on a repository with 1,000 commits, < 1 s.
// BENCH_QUICK=1 runs smaller sizes. Needs a build (npm run build).
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { QUICK, ROOT, fmt, median, medianOf, mlo, report, timeRun } from './lib.mjs';

const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', 'core', 'tracking', p)).href);
const { TrackingDb } = await dist('db.js');
const { parseStepLines } = await dist('values.js');
const { runFilePath, runRecord, storeLocation } = await dist('store.js');

const work = mkdtempSync(join(tmpdir(), 'mlo-bench-tracking-'));
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };
const secs = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

function freshRepo(dir) {
  mkdirSync(dir, { recursive: true });
  spawnSync('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  mlo(['init', '-q'], dir);
}

try {
  // 1. Ingest. Points come as a step series: 500,000 JSON lines of {"step", "loss", "acc"}.
  const points = QUICK ? 100_000 : 1_000_000;
  const lines = points / 2;
  const ts = Date.now();
  let jsonl = '';
  for (let i = 0; i < lines; i++) jsonl += `{"step":${i},"loss":${1 / (i + 1)},"acc":${i / lines}}\n`;

  const rawRate = (() => {
    const file = join(work, 'raw.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // The same table and index as mlo's metrics table: the raw limit of this schema.
    db.exec(
      'CREATE TABLE metrics (rid INTEGER NOT NULL, key TEXT NOT NULL, step INTEGER NOT NULL, value REAL, text TEXT, ts INTEGER NOT NULL); CREATE INDEX metrics_rid_key_step ON metrics (rid, key, step);',
    );
    const stmt = db.prepare('INSERT INTO metrics (rid, key, step, value, text, ts) VALUES (?, ?, ?, ?, ?, ?)');
    const t0 = process.hrtime.bigint();
    db.transaction(() => {
      for (let i = 0; i < lines; i++) {
        stmt.run(1, 'loss', i, 1 / (i + 1), null, ts);
        stmt.run(1, 'acc', i, i / lines, null, ts);
      }
    })();
    const s = secs(t0);
    db.close();
    return points / s;
  })();

  const mloRates = (() => {
    const out = {};
    for (const mode of ['points', 'jsonl']) {
      const db = TrackingDb.open(join(work, `mlo-${mode}.db`));
      const { rid } = db.createRun({ status: 'running' });
      let input;
      if (mode === 'points') {
        input = new Array(points);
        for (let i = 0; i < lines; i++) {
          input[2 * i] = { key: 'loss', step: i, value: 1 / (i + 1), text: null, ts };
          input[2 * i + 1] = { key: 'acc', step: i, value: i / lines, text: null, ts };
        }
      }
      const t0 = process.hrtime.bigint();
      const n = db.logMetrics(rid, mode === 'jsonl' ? parseStepLines(jsonl, 'series', ts) : input);
      const s = secs(t0);
      if (n !== points) throw new Error(`ingested ${n} points, expected ${points}`);
      db.close();
      out[mode] = points / s;
    }
    return out;
  })();
  const pts = (r) => `${(r / 1e6).toFixed(2)} M pts/s`;
  report(`ingest ${points.toLocaleString('en-US')} metric points (one run)`, [
    [
      'TrackingDb.logMetrics (parsed points)',
      pts(mloRates.points),
      'raw better-sqlite3, 1 transaction',
      pts(rawRate),
      fmt.x(mloRates.points / rawRate),
      '>= 0.5x',
      mloRates.points / rawRate >= 0.5 ? 'yes' : 'NO',
    ],
    [
      '$MLO_METRICS_FILE JSON lines (parse + log)',
      pts(mloRates.jsonl),
      'raw better-sqlite3, 1 transaction',
      pts(rawRate),
      fmt.x(mloRates.jsonl / rawRate),
      '>= 0.5x',
      mloRates.jsonl / rawRate >= 0.5 ? 'yes' : 'NO',
    ],
  ]);

  // 2. exp show over N runs x 20 metrics (+ 5 params), each run also exported as its committed file.
  const runs = QUICK ? 1_000 : 10_000;
  const repo = join(work, 'show');
  freshRepo(repo);
  {
    const loc = storeLocation(undefined, join(repo, '.mlo', 'tracking.db'));
    const db = TrackingDb.open(loc.dbFile);
    const t0 = process.hrtime.bigint();
    db.write(() => {
      for (let r = 0; r < runs; r++) {
        const { rid } = db.createRun({ status: 'finished', name: `run-${r}`, startTime: ts + r, gitCommit: 'a'.repeat(40), branch: 'main', dirty: false });
        db.logParams(rid, { lr: String(0.001 * (r % 10)), depth: String(r % 7), seed: String(r), opt: r % 2 ? 'adam' : 'sgd', batch: '32' });
        const m = [];
        for (let k = 0; k < 20; k++) m.push({ key: `metric_${String(k).padStart(2, '0')}`, step: 0, value: Math.sin(r * 20 + k), text: null, ts });
        db.logMetrics(rid, m);
        db.updateRun(rid, { end_time: ts + r + 1 });
      }
    });
    const rows = db.db.prepare('SELECT rid FROM runs').pluck().all();
    mkdirSync(loc.runsDir, { recursive: true });
    // What exportRun writes at the end of each run, without its per-file fsync (set-up time only).
    for (const rid of rows) writeFileSync(runFilePath(loc, db.getRun(rid).id), `${JSON.stringify(runRecord(db, rid))}\n`);
    db.close();
    console.log(`(set-up: ${runs} runs recorded and exported in ${secs(t0).toFixed(1)} s)`);
  }
  // The first show after the run files were written lists the folder once and remembers its mtime
  // (only when older than 2 s, see store.ts); later shows skip the listing, as they do day to day.
  mlo(['exp', 'show', '--limit', '1'], repo);
  await new Promise((r) => setTimeout(r, 2100));
  mlo(['exp', 'show', '--limit', '1'], repo);
  const node0 = medianOf(5, () => timeRun(process.execPath, ['-e', '0']));
  const showJson = medianOf(3, () => mlo(['exp', 'show', '--json'], repo));
  const showTable = medianOf(3, () => mlo(['exp', 'show'], repo));
  const showSorted = medianOf(3, () => mlo(['exp', 'show', '--sort-by', 'metric_03', '--limit', '20'], repo));
  const ms = (x) => `${(x * 1000).toFixed(0)} ms`;
  const verdict = (x) => (x - node0 < 0.3 ? 'yes' : 'NO');
  report(`mlo exp show over ${runs.toLocaleString('en-US')} runs x 20 metrics (node -e 0: ${ms(node0)})`, [
    ['exp show --json', ms(showJson), 'node -e 0', ms(node0), `+${ms(showJson - node0)}`, '< +300 ms', verdict(showJson)],
    ['exp show (table)', ms(showTable), 'node -e 0', ms(node0), `+${ms(showTable - node0)}`, '< +300 ms', verdict(showTable)],
    ['exp show --sort-by --limit 20', ms(showSorted), 'node -e 0', ms(node0), `+${ms(showSorted - node0)}`, '< +300 ms', verdict(showSorted)],
  ]);

  // 3. metrics diff main feature on 1,000 commits, built with git fast-import (each commit edits metrics.json).
  const commits = 1_000;
  const hist = join(work, 'history');
  freshRepo(hist);
  let stream = '';
  for (let i = 1; i <= commits; i++) {
    const metrics = JSON.stringify({ acc: 0.5 + i / (commits * 4), loss: 1 / i, eval: { f1: i / commits } });
    const pipeline = 'stages:\n  train:\n    cmd: python train.py\n    metrics: [metrics.json]\n';
    stream += `commit refs/heads/main\nmark :${i}\ncommitter b <b@b> ${1700000000 + i} +0000\ndata ${`c${i}`.length}\nc${i}\n`;
    if (i > 1) stream += `from :${i - 1}\n`;
    stream += `M 644 inline metrics.json\ndata ${Buffer.byteLength(metrics)}\n${metrics}\n`;
    if (i === 1) stream += `M 644 inline mlo.yaml\ndata ${Buffer.byteLength(pipeline)}\n${pipeline}\n`;
  }
  const feat = JSON.stringify({ acc: 0.9, loss: 0.0005, eval: { f1: 0.99 } });
  stream += `commit refs/heads/feature\nmark :${commits + 1}\ncommitter b <b@b> ${1800000000} +0000\ndata 4\nfeat\nfrom :${commits}\nM 644 inline metrics.json\ndata ${Buffer.byteLength(feat)}\n${feat}\n`;
  const fi = spawnSync('git', ['fast-import', '--quiet'], { cwd: hist, input: stream, env: gitEnv });
  if (fi.status !== 0) throw new Error(`git fast-import failed: ${fi.stderr}`);
  spawnSync('git', ['checkout', '-q', '-f', 'main'], { cwd: hist });
  const count = spawnSync('git', ['rev-list', '--count', 'feature'], { cwd: hist, encoding: 'utf8' }).stdout.trim();
  const diff = medianOf(3, () => mlo(['metrics', 'diff', 'main', 'feature', '--json'], hist));
  const diffMd = medianOf(3, () => mlo(['metrics', 'diff', 'main', 'feature', '--md'], hist));
  report(`mlo metrics diff main feature (${count} commits)`, [
    ['metrics diff --json', ms(diff), 'target', '1000 ms', '-', '< 1 s', diff < 1 ? 'yes' : 'NO'],
    ['metrics diff --md', ms(diffMd), 'target', '1000 ms', '-', '< 1 s', diffMd < 1 ? 'yes' : 'NO'],
  ]);
  void median;
} finally {
  rmSync(work, { recursive: true, force: true });
}
