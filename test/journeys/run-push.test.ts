/**
 * Journey (a): Alice runs the pipeline, follows the hint to commit it, and pushes; a second push sends
 * nothing; Bob clones and pulls and has exactly her results. Defaults throughout: cached metrics, the
 * default link type, the folder remote committed as the project's default.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OBJECTS, TREE, setUpPipeline } from './project.js';
import { cloneAs, gitStatus, mloJson, newProject, shareRun } from './support.js';

const read = (dir: string, rel: string) => readFileSync(join(dir, rel), 'utf8');

describe('journey (a): mlo run, then mlo push', () => {
  it('pushes every object once, a second push sends nothing, and a clone pulls the same results', async () => {
    const world = await newProject(TREE);
    const { alice } = world;
    const addTrack = await setUpPipeline(alice);

    const run = await mloJson(alice, 'run');
    expect(run.stages.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([['train', 'ran']]);
    expect(run.lockChanged).toBe(true);
    expect(read(alice, 'model/weights.txt')).toBe('120\n');
    expect(JSON.parse(read(alice, 'metrics.json'))).toEqual({ total: 120, rows: 3 });
    // The hint names everything git needs, and nothing more: following it leaves git with nothing to commit.
    expect(run.toTrack).toEqual(expect.arrayContaining(['mlo.lock', 'mlo.yaml', '.gitignore', 'report.txt']));
    expect(run.toTrack.filter((p: string) => p.startsWith('.mlo/tracking/runs/'))).toHaveLength(1);
    await shareRun(alice, [...addTrack, ...run.toTrack], 'train');
    expect(await gitStatus(alice)).toBe('');

    const first = await mloJson(alice, 'push');
    expect(first).toMatchObject({ remote: 'storage', uploaded: OBJECTS, present: 0, missingLocally: [] });
    expect(first.bytes).toBeGreaterThan(0);
    const second = await mloJson(alice, 'push');
    expect(second).toMatchObject({ uploaded: 0, bytes: 0, present: OBJECTS, missingLocally: [] });

    const bob = await cloneAs(world, 'bob');
    const pulled = await mloJson(bob, 'pull');
    expect(pulled.fetch.downloaded).toBe(OBJECTS);
    for (const file of ['data/raw.csv', 'model/weights.txt', 'metrics.json', 'loss.csv', 'report.txt']) expect(read(bob, file)).toBe(read(alice, file));
    const status = await mloJson(bob, 'status');
    expect(status.clean).toBe(true);
    expect(status.stages.every((s: { changed: boolean }) => !s.changed)).toBe(true);
    expect(await gitStatus(bob)).toBe('');
    // Bob's run has nothing to do: the pipeline Alice pushed is the one he has.
    const noop = await mloJson(bob, 'run');
    expect(noop.stages[0].status).toBe('unchanged');
    expect(noop.toTrack).toEqual([]);
  });
});
