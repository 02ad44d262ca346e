/**
 * "Git always knows what to commit": after run, exp run, add and commit, the `git add` hint lists every
 * path the command wrote that git should track, computed from git itself; pasting it and committing
 * leaves nothing of the run behind, and `core.autostage: true` stages the same paths.
 */
import { execa } from 'execa';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GIT_ENV, git, json, makeRepo, mlo } from '../helpers.js';

const CMD = 'mkdir -p out && cp data.csv out/model.txt && echo x,y > plot.csv && echo "{\\"acc\\": 1}" > metrics.json';

/** A committed repository with an added data file and a stage with a cached out, an uncached plot and uncached metrics. */
async function pipelineRepo(): Promise<string> {
  const dir = await makeRepo({ 'data.csv': 'a,b\n' });
  expect((await mlo(dir, 'add', 'data.csv')).exitCode).toBe(0);
  const r = await mlo(dir, 'stage', 'add', '-n', 's', '-d', 'data.csv', '-o', 'out/model.txt', '-O', 'plot.csv', '-M', 'metrics.json', '--', CMD);
  expect(r.exitCode, r.stderr).toBe(0);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'pipeline');
  return dir;
}

function hintOf(stderr: string): string {
  const line = stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('git add '));
  if (!line) throw new Error(`no git add hint in:\n${stderr}`);
  return line;
}

async function porcelain(dir: string): Promise<string> {
  return git(dir, 'status', '--porcelain', '-uall');
}

describe('the git add hint', () => {
  it('after mlo run lists the lock, the .gitignore, uncached outs and the run record; pasted, it leaves git clean', async () => {
    const dir = await pipelineRepo();
    const r = await mlo(dir, 'run', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const result = json(r);
    expect(result.toTrack.slice(0, 4)).toEqual(['metrics.json', 'mlo.lock', 'out/.gitignore', 'plot.csv']);
    expect(result.toTrack).toHaveLength(5);
    expect(result.toTrack[4]).toMatch(/^\.mlo\/tracking\/runs\/[0-9a-f]+\.json$/);
    expect(result.staged).toBe(false);

    // The text hint says the same; mlo.yaml appears once the user has changed it.
    appendFileSync(join(dir, 'mlo.yaml'), '# tuned\n');
    const forced = await mlo(dir, 'run', '--force');
    expect(forced.exitCode, forced.stderr).toBe(0);
    const hint = hintOf(forced.stderr);
    expect(hint).toMatch(/^git add metrics.json mlo.lock out\/.gitignore plot.csv mlo.yaml \.mlo\/tracking\/runs\/[0-9a-f]+\.json$/);
    const paste = await execa('sh', ['-c', hint], { cwd: dir, env: GIT_ENV, reject: false });
    expect(paste.exitCode, paste.stderr).toBe(0);
    await git(dir, 'commit', '-q', '-m', 'run');
    // The first run's record was listed by the first hint, not followed here: it is the only leftover.
    expect((await porcelain(dir)).trim()).toBe(`?? ${result.toTrack[4]}`);
  });

  it('a run that did nothing has nothing to track and prints no hint', async () => {
    const dir = await pipelineRepo();
    await mlo(dir, 'run');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'run');
    const r = await mlo(dir, 'run', '--json');
    expect(json(r).toTrack).toEqual([]);
    const text = await mlo(dir, 'run');
    expect(text.stderr).not.toContain('git add');
    expect(text.stdout).toContain('Everything is up to date');
  });

  it('mlo exp run prints it too, with the params file -S changed', async () => {
    const dir = await makeRepo({ 'params.yaml': 'lr: 0.1\n', 'train.sh': 'echo "{\\"lr\\": 1}" > m.json\n' });
    await mlo(dir, 'stage', 'add', '-n', 't', '-p', 'lr', '-d', 'train.sh', '-M', 'm.json', '--', 'sh train.sh');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'base');
    const r = await mlo(dir, 'exp', 'run', '-S', 'lr=0.2');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(hintOf(r.stderr)).toMatch(/^git add params.yaml m.json mlo.lock \.mlo\/tracking\/runs\/[0-9a-f]+\.json$/);
    const again = json(await mlo(dir, 'exp', 'run', '-S', 'lr=0.3', '--json'));
    expect(again.toTrack).toContain('params.yaml');
    expect(again.toTrack).toContain(`.mlo/tracking/runs/${again.run}.json`);
  });

  it('mlo commit lists the pointer it rewrote', async () => {
    const dir = await pipelineRepo();
    writeFileSync(join(dir, 'data.csv'), 'a,b\n1,2\n');
    const r = await mlo(dir, 'commit', 'data.csv');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(hintOf(r.stderr)).toBe('git add data.csv.mlo');
    expect(json(await mlo(dir, 'commit', 'data.csv', '--json'))[0].toTrack).toEqual(['data.csv.mlo']);
  });
});

describe('core.autostage', () => {
  it('stages exactly the paths the hint would list', async () => {
    const dir = await pipelineRepo();
    appendFileSync(join(dir, '.mlo/config.yaml'), 'core:\n  autostage: true\n');
    await git(dir, 'commit', '-q', '-am', 'autostage');
    const r = await mlo(dir, 'run', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const { toTrack, staged } = json(r);
    expect(staged).toBe(true);
    const index = (await git(dir, 'diff', '--cached', '--name-only')).split('\n').sort();
    expect(index).toEqual([...toTrack].sort());
    expect((await porcelain(dir)).split('\n').every((l) => l.startsWith('A '))).toBe(true);
    const text = await mlo(dir, 'add', 'data.csv');
    expect(text.stderr).not.toContain('git add');
  });

  it('is refused when not a boolean, naming the key', async () => {
    const dir = await makeRepo({});
    appendFileSync(join(dir, '.mlo/config.yaml'), 'core:\n  autostage: sometimes\n');
    const r = await mlo(dir, 'status');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('autostage');
  });
});
