/** Each kind of bad pipeline input gives one clear error that names the file, line, stage or key. */
import { describe, expect, it } from 'vitest';
import { json, makeRepo, mlo } from '../helpers.js';

async function runWith(yaml: string, files: Record<string, string> = {}) {
  const dir = await makeRepo({ 'mlo.yaml': yaml, ...files });
  const human = await mlo(dir, 'run');
  const machine = await mlo(dir, 'run', '--json');
  return { human, error: json(machine).error as { code: string; message: string; hint?: string } };
}

describe('bad pipeline input', () => {
  it('an unknown key names the file, line and key', async () => {
    const { human, error } = await runWith('stages:\n  train:\n    cmd: python train.py\n    dependencies: [a.csv]\n');
    expect(human.exitCode).toBe(1);
    expect(error.code).toBe('MLO_BAD_FILE');
    expect(error.message).toMatch(/^mlo\.yaml:4: stages\.train: Unrecognized key\(s\) in object: 'dependencies'/);
  });

  it('a wrong type names the line and the key path', async () => {
    const { error } = await runWith('stages:\n  train:\n    cmd: python train.py\n    deps: data.csv\n');
    expect(error.code).toBe('MLO_BAD_FILE');
    expect(error.message).toMatch(/^mlo\.yaml:4: stages\.train\.deps: Expected array, received string/);
  });

  it('a stage without cmd', async () => {
    const { error } = await runWith('stages:\n  train:\n    deps: [a]\n');
    expect(error.message).toMatch(/^mlo\.yaml:3: stages\.train\.cmd: Required/);
  });

  it('two stages with the same out', async () => {
    const { error } = await runWith('stages:\n  a:\n    cmd: x\n    outs: [model.bin]\n  b:\n    cmd: y\n    outs: [model.bin]\n');
    expect(error.code).toBe('MLO_DUPLICATE_OUT');
    expect(error.message).toBe("mlo.yaml:7: stage 'b': out 'model.bin' is also an out of stage 'a'");
  });

  it('an out inside another stage out', async () => {
    const { error } = await runWith('stages:\n  a:\n    cmd: x\n    outs: [data]\n  b:\n    cmd: y\n    outs: [data/part.csv]\n');
    expect(error.code).toBe('MLO_DUPLICATE_OUT');
    expect(error.message).toContain("out 'data/part.csv' is inside 'data', an out of stage 'a'");
  });

  it('an out inside a dep of the same stage', async () => {
    const { error } = await runWith('stages:\n  a:\n    cmd: x\n    deps: [data]\n    outs: [data/clean.csv]\n', { 'data/raw.csv': '1' });
    expect(error.code).toBe('MLO_OUT_IN_DEP');
    expect(error.message).toBe("mlo.yaml:5: stage 'a': out 'data/clean.csv' is inside its dep 'data'");
  });

  it('a missing dep names the stage', async () => {
    const { human, error } = await runWith('stages:\n  train:\n    cmd: x\n    deps: [data/missing.csv]\n    outs: [m]\n');
    expect(error.code).toBe('MLO_MISSING_DEP');
    expect(error.message).toBe("mlo.yaml:4: stage 'train': dep 'data/missing.csv' does not exist and no stage writes it");
    expect(human.stderr).toContain('hint:');
  });

  it('an unknown param key names the key, file and stage', async () => {
    const { error } = await runWith('stages:\n  train:\n    cmd: x\n    params: [train.lr, train.momentum]\n    outs: [m]\n', {
      'params.yaml': 'train:\n  lr: 0.1\n',
    });
    expect(error.code).toBe('MLO_UNKNOWN_PARAM');
    expect(error.message).toBe("mlo.yaml:4: stage 'train': param 'train.momentum' is not in params.yaml");
  });

  it('a missing params file', async () => {
    const { error } = await runWith('stages:\n  train:\n    cmd: x\n    params:\n      - conf/train.json: [lr]\n    outs: [m]\n');
    expect(error.code).toBe('MLO_MISSING_PARAMS');
    expect(error.message).toContain('params file conf/train.json does not exist');
  });

  it('a cycle names the stages in it', async () => {
    const { error } = await runWith(
      'stages:\n  a:\n    cmd: x\n    deps: [b.txt]\n    outs: [a.txt]\n  b:\n    cmd: y\n    deps: [a.txt]\n    outs: [b.txt]\n',
    );
    expect(error.code).toBe('MLO_CYCLE');
    expect(error.message).toBe('mlo.yaml:3: the stages form a cycle: a -> b -> a');
  });

  it('an undefined template variable', async () => {
    const { error } = await runWith('stages:\n  train:\n    cmd: python train.py --lr ${train.lr}\n    outs: [m]\n');
    expect(error.code).toBe('MLO_BAD_TEMPLATE');
    expect(error.message).toBe('mlo.yaml:3: stages.train.cmd: ${train.lr} is not defined');
  });

  it('a path outside the repository', async () => {
    const { error } = await runWith('stages:\n  train:\n    cmd: x\n    outs: [../elsewhere.bin]\n');
    expect(error.code).toBe('MLO_BAD_PATH');
    expect(error.message).toContain("outs '../elsewhere.bin' is outside the repository");
  });

  it('a command that is not found', async () => {
    const { human, error } = await runWith('stages:\n  train:\n    cmd: definitely-not-installed-cmd\n    outs: [m]\n');
    expect(human.exitCode).toBe(1);
    expect(error.code).toBe('MLO_COMMAND_NOT_FOUND');
    expect(error.message).toBe("stage 'train': command not found (exit 127): definitely-not-installed-cmd");
  });

  it('no mlo.yaml at all', async () => {
    const dir = await makeRepo({});
    const r = await mlo(dir, 'run', '--json');
    expect(json(r).error.code).toBe('MLO_NO_PIPELINE');
  });
});
