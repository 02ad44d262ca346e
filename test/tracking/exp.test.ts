import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, mlo, mloWith, read, ROOT } from '../helpers.js';
import { trainingRepo } from './fixture.js';

function runFiles(dir: string): string[] {
  const d = join(dir, '.mlo', 'tracking', 'runs');
  return existsSync(d) ? readdirSync(d) : [];
}

describe('mlo run records a run', () => {
  it('with git state, params, metrics files, the step series and lineage', async () => {
    const dir = await trainingRepo();
    const r = await mlo(dir, 'run');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);

    const show = json(await mlo(dir, 'exp', 'show', '--json'));
    expect(show.runs).toHaveLength(1);
    const run = show.runs[0];
    expect(run).toMatchObject({ status: 'finished', branch: 'main', dirty: false, params: { lr: '0.1', 'model.depth': '3' } });
    expect(run.commit).toBe((await git(dir, 'rev-parse', 'HEAD')).trim());
    // loss is a step series (latest = step 4); acc and eval.status come from metrics.json.
    expect(run.metrics).toEqual({ acc: 0.93, 'eval.status': 'ok', loss: 0.02 });
    expect(show.columns).toEqual({ params: ['lr', 'model.depth'], metrics: ['acc', 'eval.status', 'loss'] });

    // The committed run file carries the history and lineage.
    expect(runFiles(dir)).toEqual([`${run.id}.json`]);
    const record = JSON.parse(read(dir, `.mlo/tracking/runs/${run.id}.json`));
    expect(record.metrics.loss.step).toEqual([0, 1, 2, 3, 4]);
    expect(record.lineage).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ direction: 'in', path: 'train.cjs', stage: 'train' }),
        expect.objectContaining({ direction: 'out', path: 'out', stage: 'train' }),
      ]),
    );
    expect(record.command).toBe('mlo run');
    expect(record.host).toBeTruthy();

    // A run with every stage up to date ran nothing and records nothing.
    expect((await mlo(dir, 'run')).stdout).toMatch(/up to date/);
    expect(json(await mlo(dir, 'exp', 'show', '--json')).runs).toHaveLength(1);
  });

  it('reports an invalid metrics file by name and position, and still records the run', async () => {
    const dir = await trainingRepo({
      'train.cjs':
        "require('fs').writeFileSync('metrics.json', '{\\n  \"acc\": 0.5,\\n  \"f1\": oops\\n}');require('fs').mkdirSync('out',{recursive:true});require('fs').writeFileSync('out/m','x')",
    });
    const r = await mlo(dir, 'run');
    expect(r.stderr).toMatch(/metrics\.json:3:9: invalid JSON/);
    const show = json(await mlo(dir, 'exp', 'show', '--json'));
    expect(show.runs[0].status).toBe('finished');
  });
});

describe('mlo exp', () => {
  it('run -S changes params in the workspace, records the run; show, diff, apply, branch, remove', async () => {
    const dir = await trainingRepo();
    expect((await mlo(dir, 'exp', 'run', '-n', 'base')).exitCode).toBe(0);
    const second = await mlo(dir, 'exp', 'run', '-S', 'lr=0.5', '-S', 'model.depth=7', '-n', 'fast', '--json');
    expect(second.exitCode, second.stderr).toBe(0);
    const fast = json(second);
    expect(fast).toMatchObject({ name: 'fast', status: 'finished', params: { lr: '0.5', 'model.depth': '7' }, changedFiles: ['params.yaml'] });
    // The workspace keeps the new params (comments intact) and the new output.
    expect(read(dir, 'params.yaml')).toBe('# training params\nlr: 0.5\nmodel:\n  depth: 7\n');
    expect(read(dir, 'out/model.txt')).toBe('model lr=0.5 depth=7\n');

    const show = json(await mlo(dir, 'exp', 'show', '--json', '--sort-by', 'acc'));
    expect(show.runs.map((r: { name: string }) => r.name)).toEqual(['base', 'fast']);
    expect(show.best.acc).toMatchObject({ goal: 'max', value: 0.93 });
    expect(show.best.loss).toMatchObject({ goal: 'min', value: 0.02 });
    expect(show.runs[1].dirty).toBe(true);

    const csv = await mlo(dir, 'exp', 'show', '--csv', '--only-changed');
    expect(csv.stdout.split('\n')[0]).toBe('run,name,status,created,commit,lr,model.depth,acc,loss');
    const md = await mlo(dir, 'exp', 'show', '--md', '--limit', '1');
    expect(md.stdout.split('\n')).toHaveLength(3);
    expect(md.stdout).toContain('**');
    const human = await mlo(dir, 'exp', 'show');
    expect(human.stdout).toMatch(/Run\s+Name\s+Status/);
    expect(human.stdout).toContain('★');

    const diff = json(await mlo(dir, 'exp', 'diff', 'base', 'fast', '--json'));
    expect(diff.params).toEqual(expect.arrayContaining([{ key: 'lr', old: '0.1', new: '0.5', change: expect.closeTo(0.4, 9), pct: expect.closeTo(400, 6) }]));
    expect(diff.metrics.find((m: { key: string }) => m.key === 'acc')).toMatchObject({ old: 0.93, new: 0.57 });

    const applied = await mlo(dir, 'exp', 'apply', 'base', '--json');
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(json(applied).outs.restored).toEqual(['out/model.txt']);
    expect(read(dir, 'params.yaml')).toBe('# training params\nlr: 0.1\nmodel:\n  depth: 3\n');
    expect(read(dir, 'out/model.txt')).toBe('model lr=0.1 depth=3\n');
    expect(JSON.parse(read(dir, 'metrics.json')).acc).toBe(0.93);
    expect((await mlo(dir, 'status', '--json')).exitCode).toBe(0);

    const statusBefore = await git(dir, 'status', '--porcelain');
    const br = await mlo(dir, 'exp', 'branch', 'fast', 'try-fast', '--json');
    expect(br.exitCode, br.stderr).toBe(0);
    expect(await git(dir, 'show', 'try-fast:params.yaml')).toContain('lr: 0.5');
    expect(await git(dir, 'status', '--porcelain')).toBe(statusBefore);
    expect((await git(dir, 'rev-parse', '--abbrev-ref', 'HEAD')).trim()).toBe('main');
    expect(json(await mlo(dir, 'exp', 'branch', 'fast', 'try-fast', '--json')).error.code).toBe('MLO_BRANCH_EXISTS');

    const rm = json(await mlo(dir, 'exp', 'remove', 'fast', '--json'));
    expect(rm.removed).toEqual([fast.run]);
    expect(runFiles(dir)).toHaveLength(1);
    expect(json(await mlo(dir, 'exp', 'show', '--json')).runs).toHaveLength(1);
    expect(json(await mlo(dir, 'exp', 'diff', 'base', 'nope', '--json')).error.code).toBe('MLO_UNKNOWN_RUN');
  });

  it('asks for --queue when -S describes a grid', async () => {
    const dir = await trainingRepo();
    const r = await mlo(dir, 'exp', 'run', '-S', 'lr=0.1,0.2');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/describes 2 runs.*--queue/);
  });

  it('--sort-by an unknown metric is a usage error naming the metrics', async () => {
    const dir = await trainingRepo();
    await mlo(dir, 'run');
    const r = await mlo(dir, 'exp', 'show', '--sort-by', 'nope');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/no run has a metric or param 'nope'/);
  });
});

describe('logging from a stage', () => {
  it('mlo log and the TypeScript API write into the run of $MLO_RUN_ID', async () => {
    const api = join(ROOT, 'dist', 'index.js');
    const dir = await trainingRepo({
      'log.mjs': `import { log } from ${JSON.stringify(api)};\nfor (let step = 0; step < 3; step++) log.metric('api.loss', 1 / (step + 1), { step });\nlog.param('optimizer', 'adam');\nlog.tag('note', 'from ts');\nlog.metric('api.state', 'converged');\n`,
      'mlo.yaml': `stages:\n  train:\n    cmd:\n      - node train.cjs\n      - node log.mjs\n      - node ${JSON.stringify(join(ROOT, 'bin', 'mlo.js'))} log metric shell.score 7 --step 2\n      - node ${JSON.stringify(join(ROOT, 'bin', 'mlo.js'))} log param shell.seed 42\n    deps: [train.cjs]\n    outs: [out]\n    metrics: [metrics.json]\n`,
    });
    const r = await mlo(dir, 'run');
    expect(r.exitCode, r.stderr).toBe(0);
    const run = json(await mlo(dir, 'exp', 'show', '--json')).runs[0];
    expect(run.params).toMatchObject({ optimizer: 'adam', 'shell.seed': '42' });
    expect(run.metrics).toMatchObject({ 'api.loss': 1 / 3, 'api.state': 'converged', 'shell.score': 7 });
    const record = JSON.parse(read(dir, `.mlo/tracking/runs/${run.id}.json`));
    expect(record.metrics['api.loss'].step).toEqual([0, 1, 2]);
    expect(record.tags.note).toBe('from ts');
  });

  it('outside a run: mlo log fails clearly, --run names one, the API does nothing', async () => {
    const dir = await trainingRepo();
    const r = await mlo(dir, 'log', 'metric', 'x', '1', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).error.code).toBe('MLO_NO_RUN');
    await mlo(dir, 'run');
    const id = json(await mlo(dir, 'exp', 'show', '--json')).runs[0].id;
    expect((await mlo(dir, 'log', 'metric', 'note', 'not-a-number', '--run', id)).exitCode).toBe(0);
    const run = json(await mlo(dir, 'exp', 'show', '--json')).runs[0];
    expect(run.metrics.note).toBe('not-a-number');
    // The finished run's shared file is rewritten with the entry.
    expect(read(dir, `.mlo/tracking/runs/${id}.json`)).toContain('not-a-number');

    writeFileSync(
      join(dir, 'solo.mjs'),
      `import { log } from ${JSON.stringify(join(ROOT, 'dist', 'index.js'))};\nconsole.log(log.active, log.metric('x', 1));\n`,
    );
    const { execa } = await import('execa');
    const out = await execa(process.execPath, ['solo.mjs'], { cwd: dir, env: { MLO_RUN_ID: '' } });
    expect(out.stdout).toBe('false false');
  });
});

describe('the store', () => {
  it('refuses a database from a newer mlo', async () => {
    const dir = await trainingRepo();
    await mlo(dir, 'run');
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(dir, '.mlo', 'tracking.db'));
    db.pragma('user_version = 999');
    db.close();
    const r = await mlo(dir, 'exp', 'show', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).error).toMatchObject({ code: 'MLO_DB_TOO_NEW', message: expect.stringContaining('.mlo/tracking.db was written by a newer mlo') });
  });

  it('waits for a locked database, then says it is locked', async () => {
    const dir = await trainingRepo();
    await mlo(dir, 'run');
    const id = json(await mlo(dir, 'exp', 'show', '--json')).runs[0].id;
    const Database = (await import('better-sqlite3')).default;
    const holder = new Database(join(dir, '.mlo', 'tracking.db'));
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const r = await mloWith({ cwd: dir, env: { MLO_DB_TIMEOUT: '0.3' } }, 'log', 'param', 'k', 'v', '--run', id, '--json');
      expect(r.exitCode).toBe(1);
      expect(json(r).error).toMatchObject({ code: 'MLO_DB_LOCKED', message: expect.stringContaining('.mlo/tracking.db is locked by another process') });
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it('shares runs through committed run files: a clone sees them, and both sides merge', async () => {
    const a = await trainingRepo();
    await mlo(a, 'exp', 'run', '-n', 'alice');
    await git(a, 'add', '-A');
    await git(a, 'commit', '-q', '-m', 'alice run');
    const { tempDir } = await import('../helpers.js');
    const b = join(tempDir(), 'clone');
    await git(a, 'clone', '-q', a, b);
    const inClone = json(await mlo(b, 'exp', 'show', '--json'));
    expect(inClone.runs.map((r: { name: string }) => r.name)).toEqual(['alice']);
    // Each side commits only its run files (one new file per run: no conflicts).
    await mlo(b, 'exp', 'run', '-S', 'lr=0.2', '-n', 'bob');
    await git(b, 'add', '.mlo/tracking');
    await git(b, 'commit', '-q', '-m', 'bob run');
    await mlo(a, 'exp', 'run', '-S', 'lr=0.3', '-n', 'carol');
    await git(a, 'add', '.mlo/tracking');
    await git(a, 'commit', '-q', '-m', 'carol run');
    await git(a, 'pull', '-q', '--no-rebase', '--no-edit', b, 'main');
    const merged = json(await mlo(a, 'exp', 'show', '--json'));
    expect(merged.runs.map((r: { name: string }) => r.name).sort()).toEqual(['alice', 'bob', 'carol']);
    expect(readFileSync(join(a, '.mlo', 'tracking', 'runs', `${merged.runs.find((r: { name: string }) => r.name === 'bob').id}.json`), 'utf8')).toContain(
      '"bob"',
    );
  });
});
