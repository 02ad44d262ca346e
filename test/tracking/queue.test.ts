import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, mlo, read } from '../helpers.js';
import { trainingRepo } from './fixture.js';

describe('mlo queue', () => {
  it('queues a grid and runs it in parallel workers, each in its own worktree, leaving the workspace alone', async () => {
    const dir = await trainingRepo();
    // An uncommitted params edit is part of what the workers run.
    const edited = '# training params\nlr: 0.1\nseed: 7\nmodel:\n  depth: 3\n';
    writeFileSync(join(dir, 'params.yaml'), edited);
    const q = await mlo(dir, 'exp', 'run', '--queue', '-S', 'lr=0.2,0.4', '-S', 'model.depth=range(1,3)', '-n', 'grid', '--json');
    expect(q.exitCode, q.stderr).toBe(0);
    const queued = json(q).queued;
    expect(queued.map((r: { params: Record<string, string> }) => r.params)).toEqual([
      { lr: '0.2', 'model.depth': '1' },
      { lr: '0.2', 'model.depth': '2' },
      { lr: '0.4', 'model.depth': '1' },
      { lr: '0.4', 'model.depth': '2' },
    ]);
    expect(json(await mlo(dir, 'queue', 'status', '--json')).runs.map((r: { status: string }) => r.status)).toEqual(['queued', 'queued', 'queued', 'queued']);

    const start = await mlo(dir, 'queue', 'start', '-j', '2', '--json');
    expect(start.exitCode, start.stderr).toBe(0);
    expect(json(start).runs.map((r: { status: string }) => r.status)).toEqual(['finished', 'finished', 'finished', 'finished']);

    const show = json(await mlo(dir, 'exp', 'show', '--json', '--sort-by', 'acc'));
    expect(show.runs.map((r: { name: string }) => r.name)).toEqual(['grid-2', 'grid-1', 'grid-4', 'grid-3']);
    expect(show.runs[0].metrics).toMatchObject({ acc: 0.82, loss: 0.04 });
    expect(show.runs[0].params).toEqual({ lr: '0.2', 'model.depth': '2', seed: '7' });
    expect(show.runs[0].commit).toBe((await git(dir, 'rev-parse', 'HEAD')).trim());

    // Workers ran elsewhere: the workspace and the worktree list are as before.
    expect(read(dir, 'params.yaml')).toBe(edited);
    expect(await git(dir, 'status', '--porcelain', '--untracked-files=no')).toBe(' M params.yaml');
    expect((await git(dir, 'worktree', 'list')).trim().split('\n')).toHaveLength(1);

    const logs = await mlo(dir, 'queue', 'logs', 'grid-3');
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout).toMatch(/Run [0-9a-f]+ \(grid-3\) finished/);

    // The outputs went to the shared cache: applying a queued run restores them here.
    const applied = json(await mlo(dir, 'exp', 'apply', 'grid-4', '--json'));
    expect(applied.outs).toEqual({ restored: ['out/model.txt'], missing: [] });
    expect(read(dir, 'out/model.txt')).toBe('model lr=0.4 depth=2\n');

    const empty = await mlo(dir, 'queue', 'start');
    expect(empty.stdout).toMatch(/queue is empty/);
  });

  it('marks a run whose pipeline fails as failed, with its log', async () => {
    const dir = await trainingRepo({
      'train.cjs':
        "if (/lr: 0.5/.test(require('fs').readFileSync('params.yaml','utf8'))) { console.error('diverged'); process.exit(3) }\nrequire('fs').mkdirSync('out',{recursive:true});require('fs').writeFileSync('out/m','x');require('fs').writeFileSync('metrics.json','{}')",
    });
    await mlo(dir, 'exp', 'run', '--queue', '-S', 'lr=0.1,0.5');
    const start = await mlo(dir, 'queue', 'start', '--json');
    expect(start.exitCode).toBe(1);
    expect(json(start).runs.map((r: { status: string }) => r.status)).toEqual(['finished', 'failed']);
    const failed = json(start).runs[1].run;
    expect((await mlo(dir, 'queue', 'logs', failed)).stdout).toContain('diverged');
  });

  it('workers find tracked data checked out of the shared cache', async () => {
    const dir = await trainingRepo({
      'make.cjs':
        "const fs = require('fs');\nfs.mkdirSync('out', { recursive: true });\nfs.writeFileSync('out/m', fs.readFileSync('data/raw.txt', 'utf8') + fs.readFileSync('params.yaml', 'utf8'));\nfs.writeFileSync('metrics.json', JSON.stringify({ size: fs.statSync('data/raw.txt').size }));\n",
      'mlo.yaml': 'stages:\n  train:\n    cmd: node make.cjs\n    deps: [data/raw.txt]\n    params: [lr]\n    outs: [out]\n    metrics: [metrics.json]\n',
    });
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'raw.txt'), 'rows\n');
    const add = await mlo(dir, 'add', 'data/raw.txt');
    expect(add.exitCode, add.stderr).toBe(0);
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'data');
    await mlo(dir, 'exp', 'run', '--queue', '-S', 'lr=1,2,3');
    const start = await mlo(dir, 'queue', 'start', '-j', '3', '--json');
    expect(start.exitCode, start.stderr).toBe(0);
    const show = json(await mlo(dir, 'exp', 'show', '--json'));
    expect(show.runs.map((r: { metrics: { size: number } }) => r.metrics.size)).toEqual([5, 5, 5]);
  });

  it('needs a commit to queue from', async () => {
    const { makeRepo } = await import('../helpers.js');
    const dir = await makeRepo({ 'params.yaml': 'lr: 1\n' });
    const r = await mlo(dir, 'exp', 'run', '--queue', '-S', 'lr=2', '--json');
    expect(json(r).error.code).toBe('MLO_NO_COMMIT');
  });
});
