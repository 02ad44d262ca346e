/**
 * Issue 13, item 1: every revision-reading command sees the metrics a revision declares, cached or not.
 * On defaults a stage's `metrics: [metrics.json]` is a cached out: git holds only its hash in mlo.lock.
 * metrics show/diff, params diff, plots diff and ci report read it from the cache through that hash, and
 * say which file at which revision they could not read (exit 1) instead of "No metric changed".
 */
import { chmodSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, makeRepo, mlo, type MloResult } from '../helpers.js';

/** Writes metrics.json (cached, the default) and eval.json (`cache: false`, committed) from params.yaml's lr. */
const TRAIN = `
const fs = require('fs');
const lr = Number(/^lr:\\s*(\\S+)/m.exec(fs.readFileSync('params.yaml', 'utf8'))[1]);
fs.writeFileSync('metrics.json', JSON.stringify({ acc: Math.round((1 - lr) * 1000) / 1000 }));
fs.writeFileSync('eval.json', JSON.stringify({ loss: Math.round(lr * 2000) / 1000 }));
`;

const PIPELINE = `stages:
  train:
    cmd: node train.cjs
    deps: [train.cjs]
    params: [lr]
    metrics:
      - metrics.json
      - eval.json:
          cache: false
`;

const explain = (r: MloResult) => `exit ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

async function runAndCommit(dir: string, message: string): Promise<void> {
  const r = await mlo(dir, 'run');
  expect(r.exitCode, explain(r)).toBe(0);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', message);
}

/** main: lr 0.1 (acc 0.9, loss 0.2); feature: lr 0.3 (acc 0.7, loss 0.6); main checked out. */
async function pipelineRepo(): Promise<string> {
  const dir = await makeRepo({ 'train.cjs': TRAIN, 'mlo.yaml': PIPELINE, 'params.yaml': 'lr: 0.1\n' });
  await runAndCommit(dir, 'main');
  await git(dir, 'checkout', '-q', '-b', 'feature');
  writeFileSync(join(dir, 'params.yaml'), 'lr: 0.3\n');
  await runAndCommit(dir, 'feature');
  await git(dir, 'checkout', '-q', 'main');
  return dir;
}

/** Empties the cache, as in a clone that never fetched. */
function dropCache(dir: string): void {
  const cache = join(dir, '.mlo', 'cache');
  for (const name of readdirSync(cache)) rmSync(join(cache, name), { recursive: true, force: true });
}

describe('cached metrics at revisions (read through mlo.lock)', () => {
  it('git does not hold the cached metrics.json, so the fixture really tests the cache path', async () => {
    const dir = await pipelineRepo();
    expect(await git(dir, 'ls-tree', '--name-only', 'feature')).not.toMatch(/^metrics\.json$/m);
    expect(await git(dir, 'ls-tree', '--name-only', 'feature')).toMatch(/^eval\.json$/m);
  });

  it('metrics diff compares the cached and the `cache: false` metrics of two branches', async () => {
    const dir = await pipelineRepo();
    const r = await mlo(dir, 'metrics', 'diff', 'main', 'feature', '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    const d = json(r);
    expect(d.complete).toBe(true);
    expect(d.diff).toEqual([
      { file: 'eval.json', key: 'loss', old: 0.2, new: 0.6, change: expect.closeTo(0.4, 9), pct: expect.closeTo(200, 6) },
      { file: 'metrics.json', key: 'acc', old: 0.9, new: 0.7, change: expect.closeTo(-0.2, 9), pct: expect.closeTo(-22.222, 2) },
    ]);
    expect(d.a).toMatchObject({ rev: 'main', files: ['eval.json', 'metrics.json'], origins: { 'eval.json': 'git', 'metrics.json': 'cache' }, missing: [] });

    const text = await mlo(dir, 'metrics', 'diff', 'main', 'feature');
    expect(text.stdout).toMatch(/metrics\.json\s+acc\s+0\.9\s+0\.7\s+-0\.2/);
    const md = await mlo(dir, 'metrics', 'diff', 'main', 'feature', '--md');
    expect(md.stdout).toContain('| metrics.json | acc | 0.9 | 0.7 | -0.2 | -22.2% |');

    // Same metrics on both sides: now, and only now, "No metric changed".
    const same = await mlo(dir, 'metrics', 'diff', 'main', 'main');
    expect(same.exitCode, explain(same)).toBe(0);
    expect(same.stdout).toBe('No metric changed between main and main.');
  });

  it('metrics show --all-branches shows each branch its cached values', async () => {
    const dir = await pipelineRepo();
    const r = await mlo(dir, 'metrics', 'show', '--all-branches', '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    const revs = json(r).revisions;
    expect(revs.map((x: { rev: string }) => x.rev)).toEqual(['workspace', 'feature', 'main']);
    expect(revs[1].files).toEqual({ 'metrics.json': { acc: 0.7 }, 'eval.json': { loss: 0.6 } });
    expect(revs[2].files).toEqual({ 'metrics.json': { acc: 0.9 }, 'eval.json': { loss: 0.2 } });
    const text = await mlo(dir, 'metrics', 'show', '--all-branches');
    expect(text.stdout).toMatch(/feature\s+metrics\.json\s+acc\s+0\.7/);
  });

  it('params diff, plots diff and ci report see the cached metrics', async () => {
    const dir = await pipelineRepo();
    const p = json(await mlo(dir, 'params', 'diff', 'main', 'feature', '--json'));
    expect(p.diff).toEqual([{ file: 'params.yaml', key: 'lr', old: 0.1, new: 0.3, change: expect.closeTo(0.2, 9), pct: expect.closeTo(200, 6) }]);

    const plots = await mlo(dir, 'plots', 'diff', 'main', 'feature', '--json');
    expect(plots.exitCode, explain(plots)).toBe(0);
    const acc = json(plots).specs.find((s: { title: string }) => s.title === 'metrics.json:acc');
    expect(acc.data.values.map((v: { value: number }) => v.value)).toEqual([0.9, 0.7]);

    await git(dir, 'checkout', '-q', 'feature');
    const ci = await mlo(dir, 'ci', 'report', '--base', 'main', '--json');
    expect(ci.exitCode, explain(ci)).toBe(0);
    const report = json(ci);
    expect(report.metrics.ok).toBe(true);
    expect(report.metrics.diff.map((x: { key: string; old: number; new: number }) => [x.key, x.old, x.new])).toEqual([
      ['loss', 0.2, 0.6],
      ['acc', 0.9, 0.7],
    ]);
    expect(report.markdown).toContain('| metrics.json | acc | 0.9 | 0.7 | -0.2 | -22.2% |');
  });

  it('a cached file in neither the cache nor a remote is named with what to run, never "No metric changed" (exit 1)', async () => {
    const dir = await pipelineRepo();
    dropCache(dir);
    const r = await mlo(dir, 'metrics', 'diff', 'main', 'feature');
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.stdout).not.toMatch(/No metric changed/);
    expect(r.stdout).toMatch(/eval\.json\s+loss\s+0\.2\s+0\.6/);
    expect(r.stdout).toContain('Incomplete comparison of metrics between main and feature:');
    expect(r.stdout).toContain('metrics.json at main: not in the cache, and no remote to fetch it from: no remote is configured');
    expect(r.stdout).toContain('then run `mlo fetch --rev feature`');

    const j = await mlo(dir, 'metrics', 'diff', 'main', 'feature', '--json');
    expect(j.exitCode).toBe(1);
    const d = json(j);
    expect(d.complete).toBe(false);
    expect(d.a.missing).toEqual([
      {
        file: 'metrics.json',
        reason: 'no-remote',
        message: 'metrics.json at main: not in the cache, and no remote to fetch it from: no remote is configured',
        hint: expect.stringContaining('mlo fetch --rev main'),
      },
    ]);
    const md = await mlo(dir, 'metrics', 'diff', 'main', 'feature', '--md');
    expect(md.exitCode).toBe(1);
    expect(md.stdout).toContain('metrics.json at main: not in the cache');

    const show = await mlo(dir, 'metrics', 'show', '--all-branches');
    expect(show.exitCode).toBe(1);
    expect(show.stdout).toContain('feature: metrics.json at feature: not in the cache');

    const plots = await mlo(dir, 'plots', 'diff', 'main', 'feature', '-o', 'p.html');
    expect(plots.exitCode).toBe(1);
    expect(plots.stderr).toContain('warning: metrics.json at main: not in the cache');

    await git(dir, 'checkout', '-q', 'feature');
    const ci = await mlo(dir, 'ci', 'report', '--base', 'main', '--json');
    expect(ci.exitCode, explain(ci)).toBe(0);
    const report = json(ci);
    expect(report.failed).toContain('metrics');
    expect(report.metrics).toMatchObject({
      ok: false,
      error: { code: 'MLO_MISSING_FROM_CACHE', message: expect.stringContaining('metrics.json at main: not in the cache') },
    });
    // The workspace still holds its metrics.json: only the base side lacks it.
    expect(report.metrics.missing.map((m: { side: string; file: string; reason: string }) => [m.side, m.file, m.reason])).toEqual([
      ['base', 'metrics.json', 'no-remote'],
    ]);
    expect(report.markdown).toContain('❌ could not read the metrics: metrics.json at main: not in the cache');
  });

  it('a revision without metrics says so and the diff exits 1', async () => {
    const dir = await makeRepo({ 'params.yaml': 'lr: 0.1\n' }, { commit: true });
    await git(dir, 'checkout', '-q', '-b', 'feature');
    writeFileSync(join(dir, 'metrics.json'), '{"acc": 0.5}\n');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'metrics');
    const r = await mlo(dir, 'metrics', 'diff', 'main', 'feature');
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.stdout).toMatch(/metrics\.json\s+acc\s+-\s+0\.5/);
    expect(r.stdout).toContain('main has no metrics files');
    expect(json(await mlo(dir, 'metrics', 'diff', 'main', 'feature', '--json'))).toMatchObject({ complete: false, a: { files: [], missing: [] } });
    // ci report on feature: the new metrics are shown, and the base is listed as not compared.
    const ci = await mlo(dir, 'ci', 'report', '--base', 'main', '--json');
    expect(ci.exitCode, explain(ci)).toBe(0);
    expect(json(ci).metrics.missing).toEqual([{ side: 'base', rev: 'main', file: null, reason: 'none', message: 'main has no metrics files' }]);
    expect(json(ci).markdown).toContain('Not compared:\n\n- `main`: main has no metrics files');

    const none = await mlo(dir, 'metrics', 'diff', 'main', 'main');
    expect(none.exitCode).toBe(1);
    expect(none.stdout).not.toMatch(/No metric changed/);
    expect(none.stdout).toBe('Could not compare metrics between main and main:\n  main has no metrics files\n  main has no metrics files');

    // A declared metrics file the revision never recorded (its stage was not run there): named as such.
    writeFileSync(join(dir, 'mlo.yaml'), 'stages:\n  train:\n    cmd: node -e 0\n    metrics: [scores.json]\n');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'stage, not run');
    const nr = await mlo(dir, 'metrics', 'diff', 'HEAD~1', 'HEAD');
    expect(nr.exitCode).toBe(1);
    expect(nr.stdout).toContain('scores.json at HEAD: declared in mlo.yaml, but neither committed to git nor recorded in mlo.lock');
  });

  it('a corrupt cache object is reported, not read', async () => {
    const dir = await pipelineRepo();
    const d = json(await mlo(dir, 'metrics', 'diff', 'main', 'feature', '--json'));
    expect(d.complete).toBe(true);
    const lock = await git(dir, 'show', 'main:mlo.lock');
    const hash = /path: metrics\.json\n\s+hash: ([0-9a-f]{64})/.exec(lock)![1];
    const object = join(dir, '.mlo', 'cache', hash.slice(0, 2), hash.slice(2));
    chmodSync(object, 0o644);
    writeFileSync(object, '{"acc": 0.99}');
    const r = await mlo(dir, 'metrics', 'diff', 'main', 'feature', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).a.missing).toEqual([expect.objectContaining({ file: 'metrics.json', reason: 'corrupt', message: expect.stringContaining('is corrupt') })]);
  });

  it('a metrics file inside a cached directory out is read through its manifest', async () => {
    const dir = await makeRepo({
      'eval.cjs':
        "const fs = require('fs');\nfs.mkdirSync('results', { recursive: true });\nfs.writeFileSync('results/metrics.json', JSON.stringify({ f1: 0.5 }));\nfs.writeFileSync('results/preds.csv', 'y\\n1\\n');\n",
      'mlo.yaml': 'metrics: [results/metrics.json]\nstages:\n  eval:\n    cmd: node eval.cjs\n    deps: [eval.cjs]\n    outs: [results]\n',
    });
    await runAndCommit(dir, 'dir out');
    const r = await mlo(dir, 'metrics', 'show', '--all-branches', '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(json(r).revisions[1]).toMatchObject({ rev: 'main', files: { 'results/metrics.json': { f1: 0.5 } }, origins: { 'results/metrics.json': 'cache' } });
  });

  it('an mlo.lock entry leaving the repository is refused, not followed', async () => {
    const dir = await makeRepo({
      'mlo.yaml': 'stages:\n  train:\n    cmd: node -e 0\n    metrics: [metrics.json]\n',
      'mlo.lock': `schema: 1\nstages:\n  train:\n    cmd: node -e 0\n    outs:\n      - path: ../outside.json\n        hash: ${'a'.repeat(64)}\n        size: 3\n`,
    });
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'hostile lock');
    const r = await mlo(dir, 'metrics', 'show', '--all-branches', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).revisions[1].error).toMatchObject({ code: 'MLO_UNSAFE_PATH', message: expect.stringContaining("'../outside.json' leaves the repository") });
  });
});
