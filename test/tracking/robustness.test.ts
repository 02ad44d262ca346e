/**
 * Tracking must never break the pipeline, and what it records must survive a rebuild from the run
 * files: a corrupt or locked database, a bad $MLO_METRICS_FILE line, -S over a map, infinite metrics,
 * Ctrl-C, and a broken revision in `metrics show --all-branches`.
 */
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TrackingDb } from '../../src/core/tracking/db.js';
import { git, json, makeRepo, MLO_BIN, mlo, mloWith, read, ROOT, tempDir } from '../helpers.js';

const STAGE_SH = `echo "{\\"step\\": 0, \\"loss\\": 1}" >> "$MLO_METRICS_FILE"
echo "run=$MLO_RUN_ID"
`;

const PIPELINE = `stages:
  t:
    cmd: sh t.sh
    deps: [d.txt, t.sh]
`;

function runFile(dir: string, id: string): any {
  return JSON.parse(read(dir, `.mlo/tracking/runs/${id}.json`));
}

/** Holds an exclusive write lock on the database for `ms` (another process, as a second mlo would). */
function holdLock(dir: string, ms: number): { ready: Promise<void>; done: Promise<unknown> } {
  const script = `
    const Database = require(${JSON.stringify(join(ROOT, 'node_modules', 'better-sqlite3'))});
    const db = new Database(${JSON.stringify(join(dir, '.mlo', 'tracking.db'))});
    db.exec('BEGIN EXCLUSIVE');
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('lock-test', 'x')").run();
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, ${ms});
  `;
  const child = execa(process.execPath, ['-e', script], { reject: false });
  const ready = new Promise<void>((resolve) => child.stdout!.on('data', () => resolve()));
  return { ready, done: child };
}

describe('a database that cannot be written does not break the pipeline', () => {
  it('corrupt: the stage still gets MLO_METRICS_FILE and MLO_RUN_ID; one warning; the run goes to its run file', async () => {
    const dir = await makeRepo({ 'd.txt': 'x', 't.sh': STAGE_SH, 'mlo.yaml': PIPELINE });
    expect((await mlo(dir, 'run', '-q')).exitCode).toBe(0);
    const db = join(dir, '.mlo', 'tracking.db');
    const bytes = readFileSync(db);
    bytes.fill(0x5a, 0, 100);
    writeFileSync(db, bytes);

    const r = await mlo(dir, 'run', '-f');
    expect(r.exitCode, r.stderr).toBe(0);
    const id = /run=([0-9a-f]{12})/.exec(r.stderr)?.[1];
    expect(id, r.stderr).toBeTruthy();
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings, r.stderr).toHaveLength(1);
    expect(warnings[0]).toContain('.mlo/tracking.db is not a readable SQLite database');
    expect(warnings[0]).toContain(`.mlo/tracking/runs/${id}.json`);

    // The run file holds the run, step series included; once the database is moved aside it is rebuilt.
    const record = runFile(dir, id!);
    expect(record).toMatchObject({ id, status: 'finished', command: 'mlo run' });
    expect(record.metrics.loss.value).toEqual([1]);
    rmSync(db, { force: true });
    const show = json(await mlo(dir, 'exp', 'show', '--json'));
    expect(show.runs.map((x: any) => x.id)).toContain(id);
    expect(show.runs.find((x: any) => x.id === id).metrics).toEqual({ loss: 1 });
  });

  it('corrupt: mlo exp run -S still runs, reports the run and exits 0', async () => {
    const dir = await makeRepo({ 'd.txt': 'x', 't.sh': STAGE_SH, 'mlo.yaml': PIPELINE, 'params.yaml': 'lr: 1\n' });
    writeFileSync(join(dir, '.mlo', 'tracking.db'), 'not a database at all, not even close'.repeat(10));
    const r = await mlo(dir, 'exp', 'run', '-S', 'lr=2', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const out = json(r);
    expect(out).toMatchObject({ status: 'finished', params: { lr: '2' }, metrics: { loss: 1 } });
    expect(runFile(dir, out.run).params).toEqual({ lr: '2' });
  });

  it('locked: one wait, not one per hook; the run is recorded in its file and imported later', async () => {
    const dir = await makeRepo({ 'd.txt': 'x', 't.sh': STAGE_SH, 'mlo.yaml': PIPELINE });
    expect((await mlo(dir, 'run', '-q')).exitCode).toBe(0);
    const lock = holdLock(dir, 4000);
    await lock.ready;
    const t0 = Date.now();
    const r = await mloWith({ cwd: dir, env: { MLO_DB_TIMEOUT: '1' } }, 'run', '-f');
    const took = Date.now() - t0;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(took).toBeLessThan(3000);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings, r.stderr).toHaveLength(1);
    expect(warnings[0]).toContain('is locked by another process');
    const id = /run=([0-9a-f]{12})/.exec(r.stderr)![1];
    expect(runFile(dir, id).metrics.loss.value).toEqual([1]);
    await lock.done;
    const show = json(await mlo(dir, 'exp', 'show', '--json'));
    expect(show.runs.find((x: any) => x.id === id)).toMatchObject({ status: 'finished', metrics: { loss: 1 } });
  });

  it('locked in the middle of a run: what was recorded is kept and the file replaces the stale row', async () => {
    // The stage itself starts a process that locks the database after the run row exists.
    const holder = `
      const Database = require(${JSON.stringify(join(ROOT, 'node_modules', 'better-sqlite3'))});
      const db = new Database('.mlo/tracking.db');
      db.exec('BEGIN EXCLUSIVE');
      db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('lock-test', 'x')").run();
      require('fs').writeFileSync('locked', '');
      setTimeout(() => { db.exec('ROLLBACK'); db.close(); }, 3000);
    `;
    const dir = await makeRepo({
      'd.txt': 'x',
      'holder.cjs': holder,
      't.sh': `${STAGE_SH}node holder.cjs > /dev/null 2>&1 &\nwhile [ ! -f locked ]; do sleep 0.05; done\n`,
      'mlo.yaml': PIPELINE,
      'params.yaml': 'lr: 0.5\n',
    });
    const r = await mloWith({ cwd: dir, env: { MLO_DB_TIMEOUT: '1' } }, 'run');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(
      r.stderr.split('\n').filter((l) => l.startsWith('warning:')),
      r.stderr,
    ).toHaveLength(1);
    const id = /run=([0-9a-f]{12})/.exec(r.stderr)![1];
    const record = runFile(dir, id);
    expect(record).toMatchObject({ status: 'finished', params: { lr: '0.5' } });
    expect(record.metrics.loss.value).toEqual([1]);
    for (let i = 0; i < 100 && existsSync(join(dir, 'locked')); i++) {
      await new Promise((res) => setTimeout(res, 100));
      const busy = await mloWith({ cwd: dir, env: { MLO_DB_TIMEOUT: '0.05' } }, 'exp', 'show', '--json');
      if (busy.exitCode === 0) break;
    }
    const show = json(await mlo(dir, 'exp', 'show', '--json'));
    expect(show.runs).toHaveLength(1);
    expect(show.runs[0]).toMatchObject({ id, status: 'finished', params: { lr: '0.5' }, metrics: { loss: 1 } });
  });
});

describe('$MLO_METRICS_FILE', () => {
  it('keeps the valid lines of a series with a bad line, and names file:line of each bad one', async () => {
    const dir = await makeRepo({
      'gen.sh': `for i in 0 1 2; do echo "{\\"step\\": $i, \\"loss\\": $i}" >> "$MLO_METRICS_FILE"; done
echo '{"step": 9, "loss": oops}' >> "$MLO_METRICS_FILE"
echo '[1, 2]' >> "$MLO_METRICS_FILE"
echo '{"step": 10, "acc": 0.5}' >> "$MLO_METRICS_FILE"
`,
      'mlo.yaml': 'stages:\n  train:\n    cmd: sh gen.sh\n    deps: [gen.sh]\n',
    });
    const r = await mlo(dir, 'run');
    expect(r.exitCode, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings, r.stderr).toHaveLength(1);
    expect(warnings[0]).toContain('skipped 2 bad lines of $MLO_METRICS_FILE of stage train');
    expect(warnings[0]).toContain("$MLO_METRICS_FILE of stage train:4:21: invalid JSON line: unexpected 'o'");
    expect(warnings[0]).toContain('$MLO_METRICS_FILE of stage train:5: expected a JSON object');
    const run = json(await mlo(dir, 'exp', 'show', '--json')).runs[0];
    expect(run.status).toBe('finished');
    expect(run.metrics).toEqual({ loss: 2, acc: 0.5 });
    expect(runFile(dir, run.id).metrics.loss).toMatchObject({ step: [0, 1, 2], value: [0, 1, 2] });
  });
});

describe('mlo exp run -S', () => {
  const PARAMS = '# model\ntrain: {lr: 0.1, layers: [1, 2]}\nsizes:\n  - 3\n  - 4\nseed: 1\n';

  it('refuses to replace a map or a list with a value, naming the key and file', async () => {
    const dir = await makeRepo({ 'd.txt': 'x', 't.sh': STAGE_SH, 'mlo.yaml': PIPELINE, 'params.yaml': PARAMS });
    const r = await mlo(dir, 'exp', 'run', '-S', 'train=5');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('params.yaml: cannot set train=5: train is a map');
    expect(r.stderr).toContain('hint: set a leaf instead, such as -S train.lr=5');
    const list = json(await mlo(dir, 'exp', 'run', '-S', 'sizes=1', '--json'));
    expect(list.error).toMatchObject({ code: 'MLO_BAD_PARAMS', message: expect.stringContaining('sizes is a list') });
    expect(read(dir, 'params.yaml')).toBe(PARAMS);
    expect(json(await mlo(dir, 'exp', 'show', '--json')).runs).toHaveLength(0);

    writeFileSync(join(dir, 'cfg.json'), '{"opt": {"lr": 1}}\n');
    const j = await mlo(dir, 'exp', 'run', '-S', 'cfg.json:opt=2');
    expect(j.stderr).toContain('cfg.json: cannot set opt=2: opt is a map');
    expect(j.stderr).toContain('-S cfg.json:opt.lr=2');
  });

  it('keeps the file formatting: flow sequences stay [1, 2], comments stay', async () => {
    const dir = await makeRepo({ 'd.txt': 'x', 't.sh': STAGE_SH, 'mlo.yaml': PIPELINE, 'params.yaml': PARAMS });
    const r = await mlo(dir, 'exp', 'run', '-S', 'train.lr=5', '-S', 'sizes.1=7');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(read(dir, 'params.yaml')).toBe('# model\ntrain: {lr: 5, layers: [1, 2]}\nsizes:\n  - 3\n  - 7\nseed: 1\n');
    // A file written with padded flow collections keeps them.
    writeFileSync(join(dir, 'params.yaml'), 'layers: [ 1, 2 ]\nseed: 1\n');
    expect((await mlo(dir, 'exp', 'run', '-S', 'seed=2')).exitCode).toBe(0);
    expect(read(dir, 'params.yaml')).toBe('layers: [ 1, 2 ]\nseed: 2\n');
  });
});

describe('infinite metrics', () => {
  it('are written to the run file as "Infinity" and read back as numbers after a rebuild', async () => {
    const dir = await makeRepo({ 'd.txt': 'x', 't.sh': STAGE_SH, 'mlo.yaml': PIPELINE });
    expect((await mlo(dir, 'exp', 'run', '-n', 'seven')).exitCode).toBe(0);
    const logged = await mlo(dir, 'log', 'metric', 'acc', '1e400', '--run', 'seven', '--json');
    expect(logged.exitCode, logged.stderr).toBe(0);
    expect(json(logged)).toMatchObject({ key: 'acc', value: 'Infinity' });
    expect((await mlo(dir, 'log', 'metric', 'low', '-1e400', '--run', 'seven')).exitCode).toBe(0);
    expect((await mlo(dir, 'log', 'metric', 'nan', 'NaN', '--run', 'seven')).exitCode).toBe(0);
    const before = JSON.parse((await mlo(dir, 'exp', 'show', '--json')).stdout).runs[0].metrics;
    expect(before).toMatchObject({ acc: Infinity, low: -Infinity, nan: 'NaN' });

    const id = JSON.parse((await mlo(dir, 'exp', 'show', '--json')).stdout).runs[0].id;
    expect(runFile(dir, id).metrics).toMatchObject({ acc: { value: ['Infinity'] }, low: { value: ['-Infinity'] }, nan: { value: ['NaN'] } });
    for (const f of readdirSync(join(dir, '.mlo'))) if (f.startsWith('tracking.db')) rmSync(join(dir, '.mlo', f));
    const after = JSON.parse((await mlo(dir, 'exp', 'show', '--json')).stdout).runs[0].metrics;
    expect(after).toEqual(before);
  });
});

describe('an interrupted run', () => {
  async function interrupt(dir: string, ...args: string[]) {
    const child = execa(process.execPath, [MLO_BIN, ...args], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
    const pidFile = join(dir, 'child.pid');
    for (let i = 0; i < 200 && !(existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim()); i++) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    return child;
  }
  const SLOW = {
    'd.txt': 'x',
    'slow.sh': 'echo \'{"loss": 1}\' >> "$MLO_METRICS_FILE"\nsleep 30 & echo $! > child.pid\nwait\n',
    'mlo.yaml': 'stages:\n  slow:\n    cmd: sh slow.sh\n    deps: [d.txt]\n',
  };

  it('mlo exp run exits 130 and records the run as interrupted', async () => {
    const dir = await makeRepo(SLOW);
    const r = await interrupt(dir, 'exp', 'run', '-n', 'stopped');
    expect(r.exitCode, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/interrupted/);
    const run = json(await mlo(dir, 'exp', 'show', '--json')).runs[0];
    expect(run).toMatchObject({ name: 'stopped', status: 'interrupted', metrics: { loss: 1 } });
    expect(runFile(dir, run.id).status).toBe('interrupted');
    // It survives a rebuild from the run file.
    for (const f of readdirSync(join(dir, '.mlo'))) if (f.startsWith('tracking.db')) rmSync(join(dir, '.mlo', f));
    expect(json(await mlo(dir, 'exp', 'show', '--json')).runs[0].status).toBe('interrupted');
  });

  it('mlo run exits 130 and records the run as interrupted', async () => {
    const dir = await makeRepo(SLOW);
    const r = await interrupt(dir, 'run');
    expect(r.exitCode, r.stderr).toBe(130);
    const run = json(await mlo(dir, 'exp', 'show', '--json')).runs[0];
    expect(run.status).toBe('interrupted');
  });
});

describe('migration 4 (status interrupted)', () => {
  it('rebuilds the runs table without cascading into params, tags, metrics or lineage', () => {
    const file = join(tempDir(), 'tracking.db');
    const old = TrackingDb.open(file, { schemaVersion: 3 });
    const { rid } = old.createRun({ id: 'aaaa11112222', name: 'kept', status: 'finished' });
    old.logParams(rid, { lr: '0.1' });
    old.logTags(rid, { note: 'x' });
    old.logMetrics(rid, [{ key: 'loss', step: 0, value: 0.5, text: null, ts: 1 }]);
    old.logLineage(rid, [{ direction: 'in', path: 'd.txt', hash: 'abc', stage: 't' }]);
    expect(() => old.updateRun(rid, { status: 'interrupted' })).toThrow(/CHECK/);
    old.close();

    const db = TrackingDb.open(file);
    try {
      const run = db.findRun('kept');
      expect(db.params(run.rid)).toEqual({ lr: '0.1' });
      expect(db.tags(run.rid)).toEqual({ note: 'x' });
      expect(db.latestMetrics(run.rid)).toEqual({ loss: 0.5 });
      expect(db.lineage(run.rid)).toHaveLength(1);
      db.updateRun(run.rid, { status: 'interrupted' });
      expect(db.getRun(run.rid).status).toBe('interrupted');
      expect(db.db.pragma('foreign_keys', { simple: true })).toBe(1);
      db.removeRuns([run.rid]);
      expect(db.params(run.rid)).toEqual({});
    } finally {
      db.close();
    }
  });
});

describe('mlo metrics show --all-branches', () => {
  it('shows every revision, marking the broken one with its error (exit 1)', async () => {
    const dir = await makeRepo({ 'metrics.json': '{"acc": 0.5}\n' }, { commit: true });
    await git(dir, 'checkout', '-q', '-b', 'broken');
    writeFileSync(join(dir, 'metrics.json'), '{"acc": oops}\n');
    await git(dir, 'commit', '-q', '-am', 'broken metrics');
    await git(dir, 'checkout', '-q', '-b', 'good', 'main');
    writeFileSync(join(dir, 'metrics.json'), '{"acc": 0.9}\n');
    await git(dir, 'commit', '-q', '-am', 'better');

    const r = await mlo(dir, 'metrics', 'show', '--all-branches');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/main\s+metrics\.json\s+acc\s+0\.5/);
    expect(r.stdout).toMatch(/good\s+metrics\.json\s+acc\s+0\.9/);
    expect(r.stdout).toMatch(/workspace\s+metrics\.json\s+acc\s+0\.9/);
    expect(r.stdout).toContain("broken: error: broken:metrics.json:1:9: invalid JSON: unexpected 'o'");

    const j = await mlo(dir, 'metrics', 'show', '--all-branches', '--json');
    expect(j.exitCode).toBe(1);
    const revs = json(j).revisions;
    expect(revs.map((x: any) => x.rev)).toEqual(['workspace', 'broken', 'good', 'main']);
    expect(revs[1]).toMatchObject({
      rev: 'broken',
      files: {},
      error: { code: 'MLO_BAD_METRICS', message: expect.stringContaining('broken:metrics.json:1:9') },
    });
    expect(revs[3]).toMatchObject({ rev: 'main', files: { 'metrics.json': { acc: 0.5 } } });
    expect(revs[3].error).toBeUndefined();

    const md = await mlo(dir, 'metrics', 'show', '--all-branches', '--md');
    expect(md.exitCode).toBe(1);
    expect(md.stdout).toMatch(/\| broken\s*\|\s*\|\s*\(error\)/);
  });
});
