/**
 * `mlo run` end to end on the built binary: change detection and its reasons, mlo.lock, the run cache,
 * failures, parallel stages, stage selection, and outs that the data commands see.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exists, json, makeRepo, mlo, read } from '../helpers.js';

const PIPELINE = `# the pipeline
stages:
  prepare:
    cmd: mkdir -p data && cp raw.csv data/clean.csv && echo prepare >> runs.log && echo prepared
    deps: [raw.csv]
    outs: [data/clean.csv]
  train:
    cmd: >-
      echo "lr=\${train.lr} $(cat data/clean.csv)" > model.bin && echo '{"acc": 0.9}' > metrics.json && echo train >> runs.log
    deps: [data/clean.csv]
    params: [train.lr]
    outs: [model.bin]
    metrics:
      - metrics.json: {cache: false}
`;

const PARAMS = 'train:\n  lr: 0.1\n  epochs: 3\nother: 1\n';

async function pipelineRepo(files: Record<string, string> = {}) {
  return makeRepo({ 'mlo.yaml': PIPELINE, 'params.yaml': PARAMS, 'raw.csv': 'a,b\n1,2\n', ...files });
}

const runsLog = (dir: string) => (exists(dir, 'runs.log') ? read(dir, 'runs.log').trim().split('\n') : []);
const statuses = (r: { stdout: string; stderr: string }) => Object.fromEntries(json(r).stages.map((s: any) => [s.name, s.status]));

describe('mlo run', () => {
  it('runs stages in order, records mlo.lock in the shape the core reads, then does nothing', async () => {
    const dir = await pipelineRepo();
    const first = await mlo(dir, 'run');
    expect(first.exitCode, first.stderr).toBe(0);
    expect(runsLog(dir)).toEqual(['prepare', 'train']);
    expect(first.stderr).toContain('prepare | prepared');
    expect(read(dir, 'model.bin')).toBe('lr=0.1 a,b\n1,2\n');

    const lock = parse(read(dir, 'mlo.lock'));
    expect(lock.schema).toBe(1);
    expect(Object.keys(lock.stages)).toEqual(['prepare', 'train']);
    expect(lock.stages.train.params).toEqual({ 'params.yaml': { 'train.lr': 0.1 } });
    expect(lock.stages.train.deps).toEqual([{ path: 'data/clean.csv', hash: expect.stringMatching(/^[0-9a-f]{64}$/), size: 8 }]);
    expect(lock.stages.train.outs).toEqual([
      { path: 'metrics.json', hash: expect.stringMatching(/^[0-9a-f]{64}$/), size: 13, cache: false },
      { path: 'model.bin', hash: expect.stringMatching(/^[0-9a-f]{64}$/), size: 15 },
    ]);
    // Cached outs are git-ignored; uncached ones stay in git.
    expect(read(dir, '.gitignore')).toContain('/model.bin');
    expect(read(dir, '.gitignore')).not.toContain('metrics.json');
    expect(read(dir, 'data/.gitignore')).toContain('/clean.csv');

    const list = await mlo(dir, 'list', '--json');
    expect(JSON.stringify(json(list))).toContain('model.bin');

    const again = await mlo(dir, 'run', '--json');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(statuses(again)).toEqual({ prepare: 'unchanged', train: 'unchanged' });
    expect(runsLog(dir)).toEqual(['prepare', 'train']);
    expect((await mlo(dir, 'run')).stdout).toContain('Everything is up to date (2 stages)');
  });

  it('re-runs only the stages a change affects, and says why', async () => {
    const dir = await pipelineRepo();
    await mlo(dir, 'run');
    writeFileSync(join(dir, 'params.yaml'), PARAMS.replace('other: 1', 'other: 2').replace('epochs: 3', 'epochs: 4'));
    expect(statuses(await mlo(dir, 'run', '--json'))).toEqual({ prepare: 'unchanged', train: 'unchanged' });

    writeFileSync(join(dir, 'params.yaml'), PARAMS.replace('lr: 0.1', 'lr: 0.2'));
    const dry = await mlo(dir, 'run', '--dry', '--json');
    const plan = json(dry);
    expect(plan.dry).toBe(true);
    // The cmd templates \${train.lr}, so the resolved cmd changed too.
    expect(plan.stages[1]).toMatchObject({
      name: 'train',
      action: 'run',
      status: 'planned',
      reasons: [{ kind: 'cmd' }, { kind: 'param', change: 'modified', path: 'params.yaml', key: 'train.lr', message: 'param changed: train.lr 0.1 -> 0.2' }],
    });
    expect(runsLog(dir)).toEqual(['prepare', 'train']);

    const r = await mlo(dir, 'run');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("Running stage 'train' (cmd changed; param changed: train.lr 0.1 -> 0.2)");
    expect(runsLog(dir)).toEqual(['prepare', 'train', 'train']);

    writeFileSync(join(dir, 'raw.csv'), 'a,b\n3,4\n');
    const st = await mlo(dir, 'status', '--json');
    const stages = json(st).stages;
    expect(stages.find((s: any) => s.name === 'prepare')).toMatchObject({ changed: true, reasons: [{ kind: 'dep', change: 'modified', path: 'raw.csv' }] });
    expect(stages.find((s: any) => s.name === 'train')).toMatchObject({ changed: true, reasons: [{ kind: 'upstream', path: 'prepare' }] });
    expect((await mlo(dir, 'status')).stdout).toMatch(/Changed stages \(2 of 2[^\n]*\n\s+prepare:\n\s+dep modified: raw.csv/);
    await mlo(dir, 'run');
    expect(runsLog(dir)).toEqual(['prepare', 'train', 'train', 'prepare', 'train']);

    // A broken mlo.yaml is reported next to the data status, which still works.
    writeFileSync(join(dir, 'mlo.yaml'), 'stages:\n  x:\n    cmd: [\n');
    const broken = await mlo(dir, 'status', '--json');
    expect(broken.exitCode).toBe(0);
    expect(json(broken)).toMatchObject({ stages: [], pipelineError: { code: 'MLO_BAD_YAML' } });
  });

  it('restores a run it has seen before from the run cache instead of running it', async () => {
    const dir = await pipelineRepo();
    await mlo(dir, 'run');
    writeFileSync(join(dir, 'params.yaml'), PARAMS.replace('lr: 0.1', 'lr: 0.5'));
    await mlo(dir, 'run');
    expect(read(dir, 'model.bin')).toContain('lr=0.5');
    writeFileSync(join(dir, 'params.yaml'), PARAMS);
    const dry = await mlo(dir, 'run', '--dry', '--json');
    expect(json(dry).stages[1]).toMatchObject({ name: 'train', action: 'restore', restoredFrom: 'run-cache' });
    const r = await mlo(dir, 'run');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("Stage 'train': this run is in the run cache: restored its outputs instead of running it");
    expect(r.stdout).toContain('restored from run cache');
    expect(read(dir, 'model.bin')).toBe('lr=0.1 a,b\n1,2\n');
    expect(runsLog(dir)).toEqual(['prepare', 'train', 'train']);
    expect(parse(read(dir, 'mlo.lock')).stages.train.params['params.yaml']['train.lr']).toBe(0.1);
    // --force runs it anyway.
    expect(statuses(await mlo(dir, 'run', '--force', '--json'))).toEqual({ prepare: 'ran', train: 'ran' });
  });

  it('restores deleted or edited outs from the cache without running', async () => {
    const dir = await pipelineRepo();
    await mlo(dir, 'run');
    rmSync(join(dir, 'model.bin'));
    writeFileSync(join(dir, 'metrics.json'), '{}');
    const r = await mlo(dir, 'run', '--json');
    expect(json(r).stages[1]).toMatchObject({ status: 'restored', restoredFrom: 'lock' });
    expect(read(dir, 'model.bin')).toBe('lr=0.1 a,b\n1,2\n');
    expect(read(dir, 'metrics.json')).toBe('{"acc": 0.9}\n');
    expect(runsLog(dir)).toEqual(['prepare', 'train']);
    // mlo checkout sees stage outs too.
    rmSync(join(dir, 'data/clean.csv'));
    expect((await mlo(dir, 'checkout')).exitCode).toBe(0);
    expect(read(dir, 'data/clean.csv')).toBe('a,b\n1,2\n');
  });

  it('stops dependents of a failed stage, keeps finished results, and records only successes', async () => {
    const dir = await makeRepo({
      'mlo.yaml': `stages:
  a:
    cmd: echo a > a.txt
    outs: [a.txt]
    deps: [in.txt]
  b:
    cmd: echo partial > b.txt; echo boom >&2; exit 3
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: cp b.txt c.txt
    deps: [b.txt]
    outs: [c.txt]
  d:
    cmd: echo d > d.txt
    deps: [in.txt]
    outs: [d.txt]
`,
      'in.txt': 'x',
    });
    const r = await mlo(dir, 'run', '--json');
    expect(r.exitCode).toBe(1);
    const doc = json(r);
    expect(doc.error).toMatchObject({ code: 'MLO_STAGE_FAILED', message: "stage 'b' failed with exit code 3: echo partial > b.txt; echo boom >&2; exit 3" });
    expect(Object.fromEntries(doc.result.stages.map((s: any) => [s.name, s.status]))).toEqual({ a: 'ran', b: 'failed', c: 'skipped', d: 'skipped' });
    expect(r.stderr).toContain('b | boom');
    expect(Object.keys(parse(read(dir, 'mlo.lock')).stages)).toEqual(['a']);

    const k = await mlo(dir, 'run', '--keep-going', '--json');
    expect(k.exitCode).toBe(1);
    expect(Object.fromEntries(json(k).result.stages.map((s: any) => [s.name, s.status]))).toEqual({ a: 'unchanged', b: 'failed', c: 'skipped', d: 'ran' });
    expect(Object.keys(parse(read(dir, 'mlo.lock')).stages)).toEqual(['a', 'd']);
    const human = await mlo(dir, 'run');
    expect(human.stderr).toContain("error: stage 'b' failed with exit code 3");
  });

  it('says so when the command is not found (exit 127)', async () => {
    const dir = await makeRepo({ 'mlo.yaml': 'stages:\n  train:\n    cmd: no-such-program-xyz --fit\n    outs: [m.bin]\n' });
    const r = await mlo(dir, 'run');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("error: stage 'train': command not found (exit 127): no-such-program-xyz --fit");
    expect(r.stderr).toContain('on PATH');
    expect(exists(dir, 'mlo.lock')).toBe(false);
  });

  it('fails a stage that does not write its out', async () => {
    const dir = await makeRepo({ 'mlo.yaml': 'stages:\n  s:\n    cmd: "true"\n    outs: [never.txt]\n' });
    const r = await mlo(dir, 'run', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).error).toMatchObject({ code: 'MLO_MISSING_OUT', message: "stage 's' succeeded but did not write its out 'never.txt'" });
  });

  it('runs independent stages in parallel with -j', async () => {
    // Each stage waits (bounded) for the other to have started: only a parallel run lets both finish.
    const wait = (me: string, other: string) =>
      `touch ${me}.started; i=0; while [ ! -f ${other}.started ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; test -f ${other}.started && echo ok > ${me}.out`;
    const dir = await makeRepo({
      'mlo.yaml': `stages:\n  x:\n    cmd: ${JSON.stringify(wait('x', 'y'))}\n    outs: [x.out]\n  y:\n    cmd: ${JSON.stringify(wait('y', 'x'))}\n    outs: [y.out]\n`,
    });
    const r = await mlo(dir, 'run', '-j', '2', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ x: 'ran', y: 'ran' });
  });

  it('gives the command MLO_STAGE and MLO_ROOT and runs it in wdir', async () => {
    const dir = await makeRepo({
      'sub/keep': '',
      'mlo.yaml':
        'stages:\n  env:\n    wdir: sub\n    cmd: echo "$MLO_STAGE $MLO_ROOT $(basename $PWD) $GREETING" > env.txt\n    outs: [env.txt]\n    env: {GREETING: hi}\n',
    });
    const r = await mlo(dir, 'run');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(read(dir, 'sub/env.txt').trim()).toBe(`env ${dir} sub hi`);
    expect(parse(read(dir, 'mlo.lock')).stages.env.outs[0].path).toBe('sub/env.txt');
  });

  it('selects targets, their upstream, --single-item and --downstream', async () => {
    const dir = await pipelineRepo({
      'mlo.yaml': `${PIPELINE}  report:\n    cmd: cp metrics.json report.txt\n    deps: [metrics.json]\n    outs: [report.txt]\n`,
    });
    expect(statuses(await mlo(dir, 'run', 'prepare', '--json'))).toEqual({ prepare: 'ran' });
    expect(statuses(await mlo(dir, 'repro', 'train', '--json'))).toEqual({ prepare: 'unchanged', train: 'ran' });
    expect(statuses(await mlo(dir, 'run', 'prepare', '--downstream', '--force', '--json'))).toEqual({ prepare: 'ran', train: 'ran', report: 'ran' });
    expect(statuses(await mlo(dir, 'run', 'train', '--single-item', '--force', '--json'))).toEqual({ train: 'ran' });
    const unknown = await mlo(dir, 'run', 'nope');
    expect(unknown.stderr).toContain("no stage named 'nope'");
  });

  it('expands foreach stages, skips frozen ones and always runs always_changed ones', async () => {
    const dir = await makeRepo({
      'params.yaml': 'sizes: [small, large]\n',
      'mlo.yaml': `stages:
  train:
    foreach: \${sizes}
    do:
      cmd: echo \${item} > model-\${item}.txt
      params: [sizes]
      outs:
        - model-\${item}.txt
  stamp:
    cmd: date +%N >> stamps.txt
    always_changed: true
  old:
    cmd: echo old > old.txt
    outs: [old.txt]
    frozen: true
`,
    });
    const r = await mlo(dir, 'run', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(statuses(r)).toEqual({ 'train@small': 'ran', 'train@large': 'ran', stamp: 'ran', old: 'frozen' });
    expect(read(dir, 'model-large.txt')).toBe('large\n');
    expect(statuses(await mlo(dir, 'run', 'train', '--json'))).toEqual({ 'train@small': 'unchanged', 'train@large': 'unchanged' });
    expect(statuses(await mlo(dir, 'run', '--json'))).toMatchObject({ stamp: 'ran', old: 'frozen' });
    expect(read(dir, 'stamps.txt').trim().split('\n')).toHaveLength(2);
  });

  it('caches directory outs and keeps persistent outs', async () => {
    const dir = await makeRepo({
      'mlo.yaml': `stages:
  split:
    cmd: mkdir -p parts && echo 1 > parts/a && echo 2 > parts/b && echo x >> log.txt
    deps: [src.txt]
    outs:
      - parts
      - log.txt: {persist: true}
`,
      'src.txt': 'v1',
    });
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    const out = parse(read(dir, 'mlo.lock')).stages.split.outs.find((o: any) => o.path === 'parts');
    expect(out).toEqual({ path: 'parts', hash: expect.stringMatching(/\.dir$/), size: 4, files: 2 });
    writeFileSync(join(dir, 'src.txt'), 'v2');
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    expect(read(dir, 'log.txt')).toBe('x\nx\n');
  });

  it('ends the command process group on SIGINT and leaves mlo.lock consistent', async () => {
    const { execa } = await import('execa');
    const dir = await makeRepo({
      'mlo.yaml': `stages:
  first:
    cmd: echo 1 > first.txt
    deps: [in.txt]
    outs: [first.txt]
  slow:
    cmd: sleep 30 & echo $! > child.pid; wait
    deps: [first.txt]
    outs: [slow.txt]
`,
      'in.txt': 'x',
    });
    const child = execa(process.execPath, [join(__dirname, '../../bin/mlo.js'), 'run'], { cwd: dir, reject: false, env: { NO_COLOR: '1' } });
    const pidFile = join(dir, 'child.pid');
    for (let i = 0; i < 200 && !(existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim()); i++) await new Promise((r) => setTimeout(r, 50));
    const sleeper = Number(readFileSync(pidFile, 'utf8').trim());
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toContain('interrupted');
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      try {
        process.kill(sleeper, 0);
        await new Promise((res) => setTimeout(res, 50));
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
    expect(Object.keys(parse(read(dir, 'mlo.lock')).stages)).toEqual(['first']);
    expect(exists(dir, '.mlo/tmp/lock')).toBe(false);
  });
});

describe('mlo run --pull', () => {
  it('fetches missing outs from the default remote instead of re-running', async () => {
    const dir = await pipelineRepo();
    const { tempDir } = await import('../helpers.js');
    const remote = tempDir('mlo-remote-');
    expect((await mlo(dir, 'remote', 'add', 'storage', remote, '--default')).exitCode).toBe(0);
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    expect((await mlo(dir, 'push')).exitCode).toBe(0);
    // A colleague's checkout: same files in git, an empty cache, no outputs.
    rmSync(join(dir, '.mlo/cache'), { recursive: true, force: true });
    rmSync(join(dir, '.mlo/tmp'), { recursive: true, force: true });
    rmSync(join(dir, 'model.bin'));
    rmSync(join(dir, 'data'), { recursive: true });
    const r = await mlo(dir, 'run', '--pull', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r).stages.map((s: any) => [s.name, s.status, s.restoredFrom])).toEqual([
      ['prepare', 'restored', 'remote'],
      ['train', 'restored', 'remote'],
    ]);
    expect(read(dir, 'model.bin')).toBe('lr=0.1 a,b\n1,2\n');
    expect(runsLog(dir)).toEqual(['prepare', 'train']);
  });
});
