/**
 * Journey (d) of issue 13: metrics and params diffed between two branches, on defaults. Clone A runs a
 * pipeline whose metrics.json is a cached out (the default) and whose eval.json is `cache: false`, on
 * main and on a feature branch with changed params, and pushes both to a bare git remote and a folder
 * mlo remote. A fresh clone B (empty cache) diffs the branches: the cached values come from the remote.
 * A clone without a remote configured gets a one-line reason per file and exit 1, never "No metric changed".
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, mlo, tempDir, writeTree, type MloResult } from '../helpers.js';

const TRAIN = `
const fs = require('fs');
const lr = Number(/^lr:\\s*(\\S+)/m.exec(fs.readFileSync('params.yaml', 'utf8'))[1]);
fs.writeFileSync('metrics.json', JSON.stringify({ acc: Math.round((1 - lr) * 1000) / 1000, eval: { n: 100 } }));
fs.writeFileSync('eval.json', JSON.stringify({ loss: Math.round(lr * 2000) / 1000 }));
`;

const PIPELINE = `stages:
  train:
    cmd: node train.cjs
    deps: [train.cjs]
    params: [lr, epochs]
    metrics:
      - metrics.json
      - eval.json:
          cache: false
`;

const explain = (r: MloResult) => `exit ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

async function ok(cwd: string, ...args: string[]): Promise<MloResult> {
  const r = await mlo(cwd, ...args);
  expect(r.exitCode, `mlo ${args.join(' ')}\n${explain(r)}`).toBe(0);
  return r;
}

/** Cache objects in a clone (files under .mlo/cache/xx/). */
function cacheObjects(clone: string): number {
  const cache = join(clone, '.mlo', 'cache');
  if (!existsSync(cache)) return 0;
  return readdirSync(cache)
    .filter((d) => /^[0-9a-f]{2}$/.test(d))
    .reduce((n, d) => n + readdirSync(join(cache, d)).length, 0);
}

/** A bare git remote and a folder mlo remote, with clone A's main and feature pushed to both. */
async function publishedBranches(): Promise<{ root: string; origin: string }> {
  const root = tempDir('mlo-journey-d-');
  const origin = join(root, 'origin.git');
  await git(root, 'init', '-q', '--bare', '-b', 'main', origin);
  const a = join(root, 'a');
  await git(root, 'clone', '-q', origin, a);
  await git(a, 'checkout', '-q', '-b', 'main');
  await ok(a, 'init');
  writeTree(a, { 'train.cjs': TRAIN, 'mlo.yaml': PIPELINE, 'params.yaml': 'lr: 0.1\nepochs: 5\n' });
  // A relative folder remote, committed in .mlo/config.yaml: every clone of the repo finds it.
  await ok(a, 'remote', 'add', '--default', 'storage', '../store');
  await ok(a, 'run');
  await git(a, 'add', '-A');
  await git(a, 'commit', '-q', '-m', 'train on main');
  await git(a, 'push', '-q', 'origin', 'main');
  await ok(a, 'push');

  await git(a, 'checkout', '-q', '-b', 'feature');
  writeFileSync(join(a, 'params.yaml'), 'lr: 0.3\nepochs: 8\n');
  await ok(a, 'run');
  await git(a, 'add', '-A');
  await git(a, 'commit', '-q', '-m', 'train with lr 0.3');
  await git(a, 'push', '-q', 'origin', 'feature');
  await ok(a, 'push');
  return { root, origin };
}

async function freshClone(root: string, origin: string, name: string): Promise<string> {
  const dir = join(root, name);
  await git(root, 'clone', '-q', '-b', 'main', origin, dir);
  await git(dir, 'branch', '-q', 'feature', 'origin/feature');
  return dir;
}

describe('journey (d): metrics and params diffed between two branches', () => {
  it('a fresh clone reads cached metrics from the remote; a clone without one is told what to run', async () => {
    const { root, origin } = await publishedBranches();

    // Clone B: nothing in its cache; metrics.json is not in git at either branch.
    const b = await freshClone(root, origin, 'b');
    expect(cacheObjects(b)).toBe(0);
    expect(await git(b, 'ls-tree', '--name-only', 'feature')).not.toMatch(/^metrics\.json$/m);

    const diff = await ok(b, 'metrics', 'diff', 'main', 'feature', '--json');
    const d = json(diff);
    expect(d.complete).toBe(true);
    expect(d.diff).toEqual([
      { file: 'eval.json', key: 'loss', old: 0.2, new: 0.6, change: expect.closeTo(0.4, 9), pct: expect.closeTo(200, 6) },
      { file: 'metrics.json', key: 'acc', old: 0.9, new: 0.7, change: expect.closeTo(-0.2, 9), pct: expect.closeTo(-22.222, 2) },
    ]);
    expect(d.a.origins).toEqual({ 'eval.json': 'git', 'metrics.json': 'remote' });
    expect(d.b.origins).toEqual({ 'eval.json': 'git', 'metrics.json': 'remote' });
    // Fetched into the cache: the two metrics.json objects, read from there the next time.
    expect(cacheObjects(b)).toBe(2);
    expect(json(await ok(b, 'metrics', 'diff', 'main', 'feature', '--json')).a.origins['metrics.json']).toBe('cache');

    const text = await ok(b, 'metrics', 'diff', 'main', 'feature');
    expect(text.stdout).toMatch(/metrics\.json\s+acc\s+0\.9\s+0\.7\s+-0\.2\s+-22\.2%/);
    expect(text.stdout).toMatch(/eval\.json\s+loss\s+0\.2\s+0\.6\s+\+0\.4\s+\+200\.0%/);
    expect(text.stdout).not.toMatch(/No metric changed/);
    const md = await ok(b, 'metrics', 'diff', 'main', 'feature', '--md');
    expect(md.stdout).toContain('| metrics.json | acc | 0.9 | 0.7 | -0.2 | -22.2% |');

    const params = await ok(b, 'params', 'diff', 'main', 'feature', '--json');
    expect(json(params).diff).toEqual([
      { file: 'params.yaml', key: 'epochs', old: 5, new: 8, change: 3, pct: 60 },
      { file: 'params.yaml', key: 'lr', old: 0.1, new: 0.3, change: expect.closeTo(0.2, 9), pct: expect.closeTo(200, 6) },
    ]);
    expect((await ok(b, 'params', 'diff', 'main', 'feature', '--md')).stdout).toContain('| params.yaml | epochs | 5 | 8 | +3 (+60.0%) |');

    const show = json(await ok(b, 'metrics', 'show', '--all-branches', '--json')).revisions;
    expect(show.map((r: { rev: string; files: Record<string, unknown> }) => [r.rev, r.files['metrics.json']])).toEqual([
      ['workspace', { acc: 0.9, 'eval.n': 100 }],
      ['feature', { acc: 0.7, 'eval.n': 100 }],
      ['main', { acc: 0.9, 'eval.n': 100 }],
    ]);

    // Clone C: the same history, its remote removed (as a clone whose remote is local-only would be).
    const c = await freshClone(root, origin, 'c');
    await ok(c, 'remote', 'remove', 'storage');
    const none = await mlo(c, 'metrics', 'diff', 'main', 'feature');
    expect(none.exitCode, explain(none)).toBe(1);
    expect(none.stdout).not.toMatch(/No metric changed/);
    expect(none.stdout).toMatch(/eval\.json\s+loss\s+0\.2\s+0\.6/);
    expect(none.stdout).toContain('metrics.json at main: not in the cache, and no remote to fetch it from: no remote is configured');
    expect(none.stdout).toContain('then run `mlo fetch --rev feature`');
    const noneJson = json(await mlo(c, 'metrics', 'diff', 'main', 'feature', '--json'));
    expect(noneJson.complete).toBe(false);
    expect(noneJson.a.missing.map((m: { file: string; reason: string }) => [m.file, m.reason])).toEqual([['metrics.json', 'no-remote']]);
    expect(noneJson.b.missing.map((m: { file: string; reason: string }) => [m.file, m.reason])).toEqual([['metrics.json', 'no-remote']]);
    // params are in git: the diff is whole without a remote.
    expect(json(await ok(c, 'params', 'diff', 'main', 'feature', '--json')).complete).toBe(true);

    // The hint works: with the remote back, `mlo fetch --rev` fills the cache and the diff is whole.
    await ok(c, 'remote', 'add', '--default', 'storage', '../store');
    await ok(c, 'fetch', '--rev', 'main', 'feature');
    expect(cacheObjects(c)).toBe(2);
    const fetched = json(await ok(c, 'metrics', 'diff', 'main', 'feature', '--json'));
    expect(fetched.a.origins['metrics.json']).toBe('cache');
    expect(fetched.diff.find((x: { key: string }) => x.key === 'acc')).toMatchObject({ old: 0.9, new: 0.7 });
  });

  it('an object the remote lacks is named with the remote', async () => {
    const { root, origin } = await publishedBranches();
    // Clone D pushes nothing it ran: a new run on a branch that never reached the folder remote.
    const d = await freshClone(root, origin, 'd');
    await git(d, 'checkout', '-q', '-b', 'local');
    writeFileSync(join(d, 'params.yaml'), 'lr: 0.5\nepochs: 5\n');
    await ok(d, 'run');
    await git(d, 'add', '-A');
    await git(d, 'commit', '-q', '-m', 'local only');
    const e = await freshClone(root, origin, 'e');
    await git(e, 'fetch', '-q', join(root, 'd'), 'local:local');
    const r = await mlo(e, 'metrics', 'diff', 'main', 'local', '--json');
    expect(r.exitCode, explain(r)).toBe(1);
    const out = json(r);
    expect(out.a.origins['metrics.json']).toBe('remote');
    expect(out.b.missing).toEqual([
      {
        file: 'metrics.json',
        reason: 'not-on-remote',
        message: "metrics.json at local: not in the cache or on remote 'storage'",
        hint: 'push it from the clone that ran the stage (`mlo push`), then run `mlo fetch --rev local`',
      },
    ]);
  });
});
