/**
 * Journey (c): Bob reproduces Alice's experiment from its commit in a fresh clone. After `mlo pull`
 * the pipeline is up to date (a run does nothing), and a forced run computes the same hashes, so
 * mlo.lock is unchanged byte for byte. `mlo run --pull` does it in one step, inputs included.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TREE, setUpPipeline } from './project.js';
import { cloneAs, gitOk, gitStatus, mloJson, mloOk, newProject, shareRun, type World } from './support.js';

const read = (dir: string, rel: string) => readFileSync(join(dir, rel), 'utf8');

/** Alice's experiment (scale 3), committed as its hints say and pushed to both remotes; its commit. */
async function alicesExperiment(): Promise<{ world: World; alice: string; commit: string }> {
  const project = await newProject(TREE);
  const { alice } = project;
  const addTrack = await setUpPipeline(alice);
  const exp = await mloJson(alice, 'exp', 'run', '-S', 'train.scale=3', '-n', 'scale3');
  expect(exp.status).toBe('finished');
  expect(exp.metrics).toMatchObject({ total: 180, rows: 3 });
  expect(exp.toTrack).toEqual(expect.arrayContaining(['params.yaml', 'mlo.lock', 'mlo.yaml', `.mlo/tracking/runs/${exp.run}.json`]));
  const commit = await shareRun(alice, [...addTrack, ...exp.toTrack], 'experiment: scale 3');
  expect(await gitStatus(alice)).toBe('');
  await mloOk(alice, 'push');
  // Alice moves on; Bob reproduces the commit, not the branch tip.
  await gitOk(alice, 'commit', '-q', '--allow-empty', '-m', 'later work');
  await gitOk(alice, 'push', '-q', 'origin', 'HEAD:main');
  return { world: project, alice, commit };
}

describe('journey (c): reproducing a colleague’s experiment from a commit', () => {
  it('pull, a no-op run, then a forced run with identical hashes', async () => {
    const { world, alice, commit } = await alicesExperiment();
    const bob = await cloneAs(world, 'bob', commit);
    const lock = read(bob, 'mlo.lock');

    const pulled = await mloJson(bob, 'pull');
    expect(pulled.fetch.downloaded).toBeGreaterThan(0);
    expect(JSON.parse(read(bob, 'metrics.json'))).toEqual({ total: 180, rows: 3 });

    const noop = await mloJson(bob, 'run');
    expect(noop.stages).toEqual([expect.objectContaining({ name: 'train', status: 'unchanged' })]);
    expect(noop.lockChanged).toBe(false);
    expect(noop.toTrack).toEqual([]);
    expect(await gitStatus(bob)).toBe('');

    const forced = await mloJson(bob, 'run', '--force');
    expect(forced.stages).toEqual([expect.objectContaining({ name: 'train', status: 'ran' })]);
    expect(read(bob, 'mlo.lock')).toBe(lock);
    for (const file of ['model/weights.txt', 'metrics.json', 'loss.csv', 'report.txt']) expect(read(bob, file)).toBe(read(alice, file));
    // Only the record of Bob's own run is new to git.
    const runFile = forced.toTrack.find((p: string) => p.startsWith('.mlo/tracking/runs/'));
    expect(forced.toTrack).toEqual([runFile]);
    expect(await gitStatus(bob)).toBe(`?? ${runFile}`);
    expect((await mloJson(bob, 'status')).clean).toBe(true);
  });

  it('mlo run --pull in a fresh clone fetches the added inputs too and restores instead of running', async () => {
    const { world, commit } = await alicesExperiment();
    const carol = await cloneAs(world, 'carol', commit);
    const lock = read(carol, 'mlo.lock');
    const r = await mloOk(carol, 'run', '--pull');
    expect(r.stderr).toContain("Pulled the stages' inputs data/raw.csv: 1 object fetched");
    expect(r.stdout).toMatch(/^train +restored from remote$/m);
    expect(read(carol, 'data/raw.csv')).toBe('id,v\n1,10\n2,20\n3,30\n');
    expect(read(carol, 'model/weights.txt')).toBe('180\n');
    expect(read(carol, 'mlo.lock')).toBe(lock);
    const status = await mloJson(carol, 'status');
    expect(status.clean).toBe(true);
    expect(status.stages.every((s: { changed: boolean }) => !s.changed)).toBe(true);
  });
});
