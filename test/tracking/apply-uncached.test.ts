/**
 * `mlo exp apply` and `mlo exp branch` give back every out of the run, `cache: false` ones included (a
 * plot kept in git): their content comes from the cache, by the hashes of the run's mlo.lock, since
 * `mlo run` stores uncached outs there too. Afterwards `mlo status` is clean.
 */
import { describe, expect, it } from 'vitest';
import { git, json, makeRepo, mlo, read } from '../helpers.js';

const TRAIN = `lr=$(sed -n 's/^lr: *//p' params.yaml)
echo "step,$lr" > plot.csv
mkdir -p curves && echo "$lr" > curves/a.txt && echo "x$lr" > curves/b.txt
echo "{\\"acc\\": $lr}" > m.json
echo "$lr" > model.bin
`;

async function twoRuns(): Promise<{ dir: string; first: string }> {
  const dir = await makeRepo({ 'params.yaml': 'lr: 1\n', 'train.sh': TRAIN });
  const added = await mlo(
    dir,
    'stage',
    'add',
    '-n',
    't',
    '-p',
    'lr',
    '-d',
    'train.sh',
    '-O',
    'plot.csv',
    '-O',
    'curves',
    '-M',
    'm.json',
    '-o',
    'model.bin',
    '--',
    'sh',
    'train.sh',
  );
  expect(added.exitCode, added.stderr).toBe(0);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'base');
  const first = json(await mlo(dir, 'exp', 'run', '-S', 'lr=2', '--json')).run;
  expect((await mlo(dir, 'exp', 'run', '-S', 'lr=3')).exitCode).toBe(0);
  expect(read(dir, 'plot.csv')).toBe('step,3\n');
  return { dir, first };
}

describe('cache: false outs of a run', () => {
  it('exp apply restores them (file and folder) as plain files, and mlo status is clean', async () => {
    const { dir, first } = await twoRuns();
    const r = await mlo(dir, 'exp', 'apply', first, '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const result = json(r);
    expect(result.outs.restored).toEqual(expect.arrayContaining(['model.bin', 'plot.csv']));
    expect(result.outs.missing).toEqual([]);
    expect(read(dir, 'plot.csv')).toBe('step,2\n');
    expect(read(dir, 'curves/a.txt')).toBe('2\n');
    expect(read(dir, 'curves/b.txt')).toBe('x2\n');
    expect(read(dir, 'model.bin')).toBe('2\n');
    const status = json(await mlo(dir, 'status', '--json'));
    expect(status.stages).toEqual([expect.objectContaining({ name: 't', changed: false })]);
    expect(status.clean).toBe(true);
  });

  it('exp branch commits them, so the branch checks out clean', async () => {
    const { dir, first } = await twoRuns();
    const r = await mlo(dir, 'exp', 'branch', first, 'lr2', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r).files).toEqual(expect.arrayContaining(['plot.csv', 'curves/a.txt', 'curves/b.txt', 'm.json', 'mlo.lock', 'params.yaml']));
    expect(json(r).missing).toEqual([]);
    expect(await git(dir, 'show', 'lr2:plot.csv')).toBe('step,2');
    await git(dir, 'stash', '-u', '-q');
    await git(dir, 'checkout', '-q', 'lr2');
    expect(read(dir, 'curves/b.txt')).toBe('x2\n');
    expect((await mlo(dir, 'checkout')).exitCode).toBe(0);
    const status = json(await mlo(dir, 'status', '--json'));
    expect(status.stages).toEqual([expect.objectContaining({ name: 't', changed: false })]);
  });
});
