/** `mlo stage add` edits mlo.yaml in place; `mlo dag` prints the graph in four forms. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { join } from 'node:path';
import { exists, json, makeRepo, mlo, mloWith, read } from '../helpers.js';

const EXISTING = `# Our pipeline. Keep this comment.
stages:
  prepare: # makes the clean data
    cmd: python prepare.py
    deps: [raw.csv]
    outs: [data/clean.csv]
`;

describe('mlo stage add', () => {
  it('adds a stage and keeps the comments of the file', async () => {
    const dir = await makeRepo({ 'mlo.yaml': EXISTING, 'params.yaml': 'train:\n  lr: 0.1\n' });
    const r = await mlo(
      dir,
      'stage',
      'add',
      '-n',
      'train',
      '-d',
      'data/clean.csv',
      '-d',
      'train.py',
      '-p',
      'train.lr',
      '-o',
      'model.onnx',
      '-O',
      'notes.txt',
      '-M',
      'metrics.json',
      '--',
      'python',
      'train.py',
      '--fast',
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("Added stage 'train' in mlo.yaml");
    const text = read(dir, 'mlo.yaml');
    expect(text).toContain('# Our pipeline. Keep this comment.');
    expect(text).toContain('# makes the clean data');
    expect(text).toContain('deps: [raw.csv]');
    expect(parse(text).stages.train).toEqual({
      cmd: 'python train.py --fast',
      deps: ['data/clean.csv', 'train.py'],
      params: ['train.lr'],
      outs: ['model.onnx', { 'notes.txt': { cache: false } }],
      metrics: [{ 'metrics.json': { cache: false } }],
    });
    const dag = await mlo(dir, 'dag', '--json');
    expect(json(dag).edges).toEqual([{ from: 'prepare', to: 'train' }]);
  });

  it('stores the command as typed: each argument quoted again, and the stage prints exactly its argv', async () => {
    const dir = await makeRepo({});
    let r = await mlo(dir, 'stage', 'add', '-n', 'py', '--', 'python3', '-c', 'print(1)');
    expect(r.exitCode, r.stderr).toBe(0);
    r = await mlo(dir, 'stage', 'add', '-n', 'echo', '--', 'printf', '%s|', 'hello world', '$HOME', 'a;b', `it's`, '', '--lr=3');
    expect(r.exitCode, r.stderr).toBe(0);
    const stages = parse(read(dir, 'mlo.yaml')).stages;
    expect(stages.py.cmd).toBe(`python3 -c 'print(1)'`);
    expect(stages.echo.cmd).toBe(`printf '%s|' 'hello world' '$HOME' 'a;b' 'it'\\''s' '' --lr=3`);
    r = await mlo(dir, 'run', 'py', 'echo');
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stderr.split('\n'); // a stage's output is a log line: stderr
    expect(lines).toContain('py | 1');
    expect(lines).toContain(`echo | hello world|$HOME|a;b|it's||--lr=3|`);
  });

  it('a forgotten -- is refused with the fix, whether the option is unknown to mlo or is one of its own', async () => {
    const dir = await makeRepo({});
    let r = await mlo(dir, 'stage', 'add', '-n', 's', 'python3', '-c', 'print(1)');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown option '-c'");
    expect(r.stderr).toContain('hint: put the command after --');
    // `-o` is mlo's flag too: taken silently, it would turn the script's output option into a stage out.
    r = await mlo(dir, 'stage', 'add', '-n', 's', 'python3', 'train.py', '-o', 'model.onnx');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("option '-o' comes after the command 'python3 train.py'");
    expect(r.stderr).toContain('after --');
    expect(r.stderr).not.toContain('    at ');
    expect(exists(dir, 'mlo.yaml')).toBe(false);
    r = await mlo(dir, 'stage', 'add', '-n', 's', '--', 'python3', 'train.py', '-o', 'model.onnx');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parse(read(dir, 'mlo.yaml')).stages.s).toEqual({ cmd: 'python3 train.py -o model.onnx' });
    // After --, even mlo's global flags are the command's.
    r = await mlo(dir, 'stage', 'add', '-n', 't', '--', 'tool', '--json', '-v');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("Added stage 't'");
    expect(parse(read(dir, 'mlo.yaml')).stages.t).toEqual({ cmd: 'tool --json -v' });
  });

  it('creates mlo.yaml, refuses a second stage of the same name without --force', async () => {
    const dir = await makeRepo({});
    expect((await mlo(dir, 'stage', 'add', '-n', 'a', '-o', 'a.txt', '--', 'echo a > a.txt')).exitCode).toBe(0);
    const again = await mlo(dir, 'stage', 'add', '-n', 'a', '-o', 'b.txt', '--', 'echo b > b.txt');
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain("stage 'a' already exists in mlo.yaml");
    const forced = await mlo(dir, 'stage', 'add', '-n', 'a', '-o', 'b.txt', '--force', '--json', '--', 'echo b > b.txt');
    expect(json(forced)).toMatchObject({ name: 'a', replaced: true });
    expect(parse(read(dir, 'mlo.yaml')).stages.a).toEqual({ cmd: 'echo b > b.txt', outs: ['b.txt'] });
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    expect(read(dir, 'b.txt')).toBe('b\n');
  });

  it('run from a subfolder, sets wdir so the paths mean what was typed', async () => {
    const dir = await makeRepo({ 'sub/in.txt': 'x' });
    const r = await mloWith({ cwd: join(dir, 'sub') }, 'stage', 'add', '-n', 'copy', '-d', 'in.txt', '-o', 'out.txt', '--', 'cp in.txt out.txt');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(parse(read(dir, 'mlo.yaml')).stages.copy).toEqual({ cmd: 'cp in.txt out.txt', wdir: 'sub', deps: ['in.txt'], outs: ['out.txt'] });
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    expect(parse(read(dir, 'mlo.lock')).stages.copy.outs[0].path).toBe('sub/out.txt');
  });

  it('leaves mlo.yaml unchanged when the new stage is invalid', async () => {
    const dir = await makeRepo({ 'mlo.yaml': EXISTING });
    const r = await mlo(dir, 'stage', 'add', '-n', 'dup', '-o', 'data/clean.csv', '--', 'true');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("out 'data/clean.csv' is also an out of stage 'prepare'");
    expect(read(dir, 'mlo.yaml')).toBe(EXISTING);
  });
});

describe('mlo dag', () => {
  const yaml = `stages:
  prepare:
    cmd: a
    deps: [raw]
    outs: [data]
  train:
    cmd: b
    deps: [data]
    outs: [model]
  evaluate:
    cmd: c
    deps: [model, data]
    outs: [metrics.json]
`;

  it('prints text, mermaid, dot and json', async () => {
    const dir = await makeRepo({ 'mlo.yaml': yaml });
    expect((await mlo(dir, 'dag')).stdout).toBe('prepare\ntrain  <- prepare\nevaluate  <- prepare, train');
    expect((await mlo(dir, 'dag', '--mermaid')).stdout).toBe(
      'flowchart TD\n  s0["prepare"]\n  s1["train"]\n  s2["evaluate"]\n  s0 --> s1\n  s0 --> s2\n  s1 --> s2',
    );
    expect((await mlo(dir, 'dag', '--dot')).stdout).toContain('"train" -> "evaluate";');
    const doc = json(await mlo(dir, 'dag', 'train', '--json'));
    expect(doc.nodes.map((n: any) => n.name)).toEqual(['prepare', 'train']);
    expect(doc.nodes[1]).toEqual({ name: 'train', cmd: 'b', deps: ['data'], outs: ['model'], frozen: false });
  });
});
