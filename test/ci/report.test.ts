/**
 * `mlo ci report` end to end on the built binary: the Markdown of a feature branch against main
 * (metrics and params diff, validation, drift, changed stages, plots link), its --json shape, --fail-on
 * exit codes, and the error for a base revision the clone does not have.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, makeRepo, mlo, read, writeTree, type MloResult } from '../helpers.js';
import { TREE } from '../tracking/fixture.js';

function explain(r: MloResult): string {
  return `exit ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

const SCHEMA = 'version: 1\ncolumns:\n  age: {type: int, min: 0, max: 120}\n  plan: {type: string, categories: [free, pro]}\n';

/** main: acc 0.8, loss 0.5, lr 0.1; feature (checked out): acc 0.9, loss 0.4, lr 0.05, and data files. */
async function featureRepo(): Promise<string> {
  const dir = await makeRepo(
    {
      'metrics.json': JSON.stringify({ acc: 0.8, train: { loss: 0.5 }, epochs: 3 }),
      'params.yaml': 'lr: 0.1\nlayers: [32, 16]\noptimizer: sgd\n',
    },
    { commit: true },
  );
  await git(dir, 'checkout', '-q', '-b', 'feature');
  writeTree(dir, {
    'metrics.json': JSON.stringify({ acc: 0.9, train: { loss: 0.4 }, epochs: 3 }),
    'params.yaml': 'lr: 0.05\nlayers: [32, 16]\noptimizer: adam\n',
    'schema.yaml': SCHEMA,
    'good.csv': 'age,plan\n34,free\n45,pro\n',
    'bad.csv': 'age,plan\n34,free\n130,gold\n',
    'train.csv': sample(400, 0),
    'prod.csv': sample(400, 3),
    'same.csv': sample(400, 0),
  });
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'feature');
  return dir;
}

/** n rows of a numeric column x, uniform on [shift, shift + 1) by a fixed linear congruential sequence. */
function sample(n: number, shift: number): string {
  let s = 7;
  const lines = ['x'];
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    lines.push((shift + s / 2147483648).toFixed(5));
  }
  return `${lines.join('\n')}\n`;
}

describe('mlo ci report', () => {
  it('prints the metrics and params diff against the base branch as Markdown', async () => {
    const dir = await featureRepo();
    const r = await mlo(dir, 'ci', 'report', '--base', 'main');
    expect(r.exitCode, explain(r)).toBe(0);
    const md = r.stdout;
    expect(md.split('\n')[0]).toBe('<!-- mlo-ci-report -->');
    expect(md).toContain('## mlo report');
    expect(md).toMatch(/Comparing the workspace \(HEAD `[0-9a-f]{7}`\) with `main` \(`[0-9a-f]{7}`\)\./);
    expect(md).toContain(
      [
        '### Metrics',
        '',
        '| Path | Metric | main | workspace | Change | % |',
        '|---|---|---|---|---|---|',
        '| metrics.json | acc | 0.8 | 0.9 | +0.1 | +12.5% |',
        '| metrics.json | train.loss | 0.5 | 0.4 | -0.1 | -20.0% |',
        '',
        '_1 unchanged metric not shown._',
      ].join('\n'),
    );
    expect(md).toContain(
      [
        '### Params',
        '',
        '| Path | Param | main | workspace | Change |',
        '|---|---|---|---|---|',
        '| params.yaml | lr | 0.1 | 0.05 | -0.05 (-50.0%) |',
        '| params.yaml | optimizer | sgd | adam | - |',
        '',
        '_2 unchanged params not shown._',
      ].join('\n'),
    );
    // Sections that were not asked for, or do not apply, are left out.
    expect(md).not.toMatch(/### (Data validation|Drift|Pipeline)|Plots|Failed/);

    // The default base is main; an uncommitted change shows as the workspace side.
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ acc: 0.7, train: { loss: 0.5 }, epochs: 3 }));
    const ws = await mlo(dir, 'ci', 'report');
    expect(ws.stdout).toContain('| metrics.json | acc | 0.8 | 0.7 | -0.1 | -12.5% |');
    expect(ws.stdout).toContain('_2 unchanged metrics not shown._');
  });

  it('says so when nothing changed, and omits metrics and params when there are none', async () => {
    const dir = await featureRepo();
    await git(dir, 'checkout', '-q', 'main');
    const same = await mlo(dir, 'ci', 'report');
    expect(same.exitCode, explain(same)).toBe(0);
    expect(same.stdout).toContain('No metric changed between `main` and the workspace (3 unchanged).');
    expect(same.stdout).toContain('No param changed between `main` and the workspace (4 unchanged).');

    const empty = await makeRepo({ 'README.md': 'hi\n' }, { commit: true });
    const none = await mlo(empty, 'ci', 'report', '--plots-url', 'https://ci.example.com/artifacts/plots.html');
    expect(none.exitCode, explain(none)).toBe(0);
    expect(none.stdout).not.toMatch(/### /);
    expect(none.stdout.trimEnd().split('\n').at(-1)).toBe('📈 [Plots](<https://ci.example.com/artifacts/plots.html>)');
  });

  it('--validate reports each data file, with the broken rules of a failing one', async () => {
    const dir = await featureRepo();
    const r = await mlo(
      dir,
      'ci',
      'report',
      '--validate',
      'good.csv=schema.yaml',
      '--validate',
      'bad.csv=schema.yaml',
      '--validate',
      'missing.csv=schema.yaml',
    );
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.stdout).toContain('❌ **Failed: validation.**');
    expect(r.stdout).toContain('### Data validation');
    expect(r.stdout).toContain('✅ `good.csv` matches `schema.yaml` (2 rows, 2 columns)');
    expect(r.stdout).toContain(
      [
        '❌ `bad.csv` against `schema.yaml`: 2 rules failed (2 rows checked)',
        '',
        '| Column | Rule | Rows | Expected | Examples |',
        '|---|---|---|---|---|',
        '| `age` | max | 1 | <= 120 | row 2: `130` |',
        '| `plan` | categories | 1 | one of free, pro | row 2: `gold` |',
      ].join('\n'),
    );
    // A file that cannot be read is a failed entry in its section, not the end of the report.
    expect(r.stdout).toMatch(/❌ `missing\.csv` against `schema\.yaml`: .*missing\.csv/);
    expect(r.stdout).toContain('### Metrics');

    const failing = await mlo(dir, 'ci', 'report', '--validate', 'bad.csv=schema.yaml', '--fail-on', 'validation');
    expect(failing.exitCode, explain(failing)).toBe(1);
    expect(failing.stdout).toContain('❌ `bad.csv` against `schema.yaml`');
    expect((await mlo(dir, 'ci', 'report', '--validate', 'good.csv=schema.yaml', '--fail-on', 'validation')).exitCode).toBe(0);
    // Validation failures do not fail --fail-on drift.
    expect((await mlo(dir, 'ci', 'report', '--validate', 'bad.csv=schema.yaml', '--fail-on', 'drift')).exitCode).toBe(0);
  });

  it('--drift reports the drifted columns; --fail-on drift and any exit 1 on drift', async () => {
    const dir = await featureRepo();
    const r = await mlo(dir, 'ci', 'report', '--drift', 'train.csv=prod.csv', '--drift', 'train.csv=same.csv');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.stdout).toContain('❌ **Failed: drift.**');
    expect(r.stdout).toContain('### Drift');
    expect(r.stdout).toContain('❌ `prod.csv` against `train.csv`: 1 of 1 column drifted (400 reference rows, 400 current rows)');
    expect(r.stdout).toContain('| Column | Type | PSI | KS p | chi² p | JS | Why |');
    expect(r.stdout).toMatch(/\| `x` \| numeric \| [^|]+ \| [^|]+ \| - \| - \| psi [^|]*; ks [^|]* \|/);
    expect(r.stdout).toContain('✅ `same.csv` against `train.csv`: no drift in 1 column (400 reference rows, 400 current rows)');

    expect((await mlo(dir, 'ci', 'report', '--drift', 'train.csv=prod.csv', '--fail-on', 'drift')).exitCode).toBe(1);
    expect((await mlo(dir, 'ci', 'report', '--drift', 'train.csv=prod.csv', '--fail-on', 'any')).exitCode).toBe(1);
    expect((await mlo(dir, 'ci', 'report', '--drift', 'train.csv=prod.csv', '--fail-on', 'validation')).exitCode).toBe(0);
    expect((await mlo(dir, 'ci', 'report', '--drift', 'train.csv=same.csv', '--fail-on', 'any')).exitCode).toBe(0);
  });

  it('--json returns the structured report with the Markdown', async () => {
    const dir = await featureRepo();
    const r = await mlo(
      dir,
      'ci',
      'report',
      '--base',
      'main',
      '--json',
      '--validate',
      'bad.csv=schema.yaml',
      '--drift',
      'train.csv=prod.csv',
      '--plots-url',
      'https://x.test/p',
    );
    expect(r.exitCode, explain(r)).toBe(0);
    const d = json(r);
    expect(Object.keys(d).sort()).toEqual(['base', 'drift', 'failed', 'gates', 'head', 'markdown', 'metrics', 'params', 'pipeline', 'plotsUrl', 'validation']);
    expect(d.base).toEqual({ rev: 'main', sha: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(d.head).toEqual({ rev: 'workspace', sha: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(d.metrics).toEqual({
      ok: true,
      unchanged: 1,
      diff: [
        { file: 'metrics.json', key: 'acc', old: 0.8, new: 0.9, change: expect.closeTo(0.1, 9), pct: expect.closeTo(12.5, 6) },
        { file: 'metrics.json', key: 'train.loss', old: 0.5, new: 0.4, change: expect.closeTo(-0.1, 9), pct: expect.closeTo(-20, 6) },
      ],
    });
    expect(d.params.diff.map((x: { key: string }) => x.key)).toEqual(['lr', 'optimizer']);
    expect(d.validation).toEqual([
      expect.objectContaining({ data: 'bad.csv', schema: 'schema.yaml', ok: false, report: expect.objectContaining({ ok: false, rows: 2 }) }),
    ]);
    expect(d.validation[0].report.violations.map((v: { rule: string }) => v.rule)).toEqual(['max', 'categories']);
    expect(d.drift).toEqual([
      expect.objectContaining({ reference: 'train.csv', current: 'prod.csv', ok: false, report: expect.objectContaining({ drift: true, drifted: 1 }) }),
    ]);
    expect(d.pipeline).toBeNull();
    expect(d.plotsUrl).toBe('https://x.test/p');
    expect(d.failed).toEqual(['validation', 'drift']);
    expect(d.markdown).toMatch(/^<!-- mlo-ci-report -->\n## mlo report\n/);
  });

  it('--out writes the Markdown to a file and prints nothing on stdout', async () => {
    const dir = await featureRepo();
    const r = await mlo(dir, 'ci', 'report', '--out', 'report.md');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Wrote report.md');
    expect(read(dir, 'report.md')).toContain('| metrics.json | acc | 0.8 | 0.9 | +0.1 | +12.5% |');
  });

  it('lists the pipeline stages that changed since mlo.lock; stale ones fail the pipeline section', async () => {
    const dir = await makeRepo(TREE);
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'pipeline');
    await git(dir, 'checkout', '-q', '-b', 'feature');
    writeFileSync(join(dir, 'params.yaml'), '# training params\nlr: 0.3\nmodel:\n  depth: 3\n');

    const stale = await mlo(dir, 'ci', 'report');
    expect(stale.exitCode, explain(stale)).toBe(0);
    expect(stale.stdout).toContain('| params.yaml | lr | 0.1 | 0.3 | +0.2 (+200.0%) |');
    expect(stale.stdout).toContain('❌ **Failed: pipeline.**');
    expect(stale.stdout).toContain(
      '### Pipeline\n\n❌ 1 of 1 stage stale: mlo.lock no longer describes them (`mlo run` updates them and mlo.lock):\n\n- `train`: ',
    );
    expect(stale.stdout).toMatch(/- `train`: .*lr/);
    expect(json(await mlo(dir, 'ci', 'report', '--json')).pipeline).toMatchObject({
      ok: false,
      changed: ['train'],
      stale: ['train'],
      stages: [{ name: 'train', changed: true, stale: true }],
    });
    expect((await mlo(dir, 'ci', 'report', '--fail-on', 'pipeline')).exitCode).toBe(1);

    // Deleted outs are not stale: checkout restores them, and the section passes while listing the stage.
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    rmSync(join(dir, 'out'), { recursive: true });
    const outsOnly = await mlo(dir, 'ci', 'report', '--fail-on', 'pipeline');
    expect(outsOnly.exitCode, explain(outsOnly)).toBe(0);
    expect(outsOnly.stdout).toContain('### Pipeline\n\n✅ mlo.lock describes every stage; 1 of 1 stage not stale');

    expect((await mlo(dir, 'checkout')).exitCode).toBe(0);
    const fresh = await mlo(dir, 'ci', 'report');
    expect(fresh.stdout).toContain('| metrics.json | acc | 0.93 | 0.73 | -0.2 | -21.5% |');
    expect(fresh.stdout).toContain('### Pipeline\n\n✅ Up to date: 1 stage match mlo.lock.');
  });

  it('a broken mlo.yaml is a failed pipeline section; --fail-on any exits 1', async () => {
    const dir = await makeRepo({ 'mlo.yaml': 'stages:\n  train:\n    cmd: [not, a, string\n' }, { commit: true });
    const r = await mlo(dir, 'ci', 'report');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.stdout).toContain('❌ **Failed: pipeline.**');
    expect(r.stdout).toMatch(/### Pipeline\n\n❌ could not read the pipeline: .*mlo\.yaml/);
    expect((await mlo(dir, 'ci', 'report', '--fail-on', 'any')).exitCode).toBe(1);
    expect((await mlo(dir, 'ci', 'report', '--fail-on', 'validation')).exitCode).toBe(0);
  });

  it('an unknown base revision is a one-line error naming it, with the fetch hint', async () => {
    const dir = await featureRepo();
    const r = await mlo(dir, 'ci', 'report', '--base', 'origin/main');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe("error: unknown base revision 'origin/main': no such branch, tag or commit in this clone");
    expect(r.stderr).toContain('hint: fetch it first (git fetch origin main)');

    const j = await mlo(dir, 'ci', 'report', '--base', 'release', '--json');
    expect(j.exitCode).toBe(1);
    expect(json(j).error).toMatchObject({
      code: 'MLO_UNKNOWN_REV',
      message: expect.stringContaining("'release'"),
      hint: expect.stringContaining('git fetch origin release'),
    });

    // The local name of a branch that only exists as a remote-tracking branch: point at the right one.
    await git(dir, 'update-ref', 'refs/remotes/origin/trunk', 'main');
    const t = await mlo(dir, 'ci', 'report', '--base', 'trunk');
    expect(t.stderr).toContain('hint: use the remote-tracking branch: mlo ci report --base origin/trunk');
    expect((await mlo(dir, 'ci', 'report', '--base', 'origin/trunk')).exitCode).toBe(0);
  });

  it('bad flag values are usage errors (exit 2)', async () => {
    const dir = await featureRepo();
    const pair = await mlo(dir, 'ci', 'report', '--validate', 'bad.csv');
    expect(pair.exitCode).toBe(2);
    expect(pair.stderr).toContain("--validate expects DATA=SCHEMA, got 'bad.csv'");
    const drift = await mlo(dir, 'ci', 'report', '--drift', '=prod.csv', '--json');
    expect(drift.exitCode).toBe(2);
    expect(json(drift).error).toMatchObject({ code: 'MLO_USAGE', message: "--drift expects REFERENCE=CURRENT, got '=prod.csv'" });
    const failOn = await mlo(dir, 'ci', 'report', '--fail-on', 'everything');
    expect(failOn.exitCode).toBe(2);
    expect(failOn.stderr).toContain("--fail-on must be one of metrics, pipeline, drift, validation, any, got 'everything'");
  });

  it('a path holding "=" is split where both files exist', async () => {
    const dir = await featureRepo();
    writeTree(dir, { 'dt=2026-11-01/prod.csv': 'age,plan\n20,pro\n' });
    const r = await mlo(dir, 'ci', 'report', '--validate', 'dt=2026-11-01/prod.csv=schema.yaml', '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(json(r).validation[0]).toMatchObject({ data: 'dt=2026-11-01/prod.csv', schema: 'schema.yaml', ok: true });
  });
});
