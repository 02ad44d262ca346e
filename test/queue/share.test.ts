import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { git, json, mlo, read, tempDir } from '../helpers.js';
import { addRemote, expectExit, localKind, runner, s3Kind, type RemoteKind } from '../remote/kinds.js';
import { s3Endpoints } from '../remote/servers.js';
import { trainingRepo } from '../tracking/fixture.js';

const endpoints = await s3Endpoints();
afterAll(async () => {
  for (const e of endpoints) await e.stop();
});
const kinds: RemoteKind[] = [localKind(), ...endpoints.map(s3Kind)];

describe.each(kinds)('mlo exp push / exp pull on a $label remote', (kind) => {
  it('shares run records: pulled runs show and apply in a clone that never ran them', async () => {
    const run = runner(kind);
    const dir = await trainingRepo();
    const remote = await addRemote(kind, dir, 'shared');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'remote');
    const ran = await run(dir, 'exp', 'run', '-S', 'lr=0.3', '-n', 'mine', '--json');
    expect(ran.exitCode, ran.stderr).toBe(0);
    const id = json(ran).run;
    expectExit(await run(dir, 'push'), 0);

    const pushed = expectExit(await run(dir, 'exp', 'push', '--json'), 0);
    expect(json(pushed)).toMatchObject({ remote: 'shared', pushed: [id], present: 0 });
    expect([...(await remote.keys()).keys()].filter((k) => k.startsWith('exps/'))).toEqual([`exps/${id}.json`]);
    // Idempotent: a second push uploads nothing.
    expect(json(await run(dir, 'exp', 'push', '--json'))).toMatchObject({ pushed: [], present: 1 });

    const clone = join(tempDir(), 'clone');
    await git(dir, 'clone', '-q', dir, clone);
    expect(json(await run(clone, 'exp', 'show', '--json')).runs).toEqual([]);
    const pulled = expectExit(await run(clone, 'exp', 'pull', '--json'), 0);
    expect(json(pulled)).toMatchObject({ pulled: [id], present: 0, refused: [] });
    const show = json(await run(clone, 'exp', 'show', '--json'));
    expect(show.runs.map((r: { id: string; name: string; params: object; metrics: object }) => [r.id, r.name, r.params, r.metrics])).toEqual([
      [id, 'mine', { lr: '0.3', 'model.depth': '3' }, { acc: 0.73, 'eval.status': 'ok', loss: 0.06 }],
    ]);
    expect(json(await run(clone, 'exp', 'pull', '--json'))).toMatchObject({ pulled: [], present: 1 });

    // The outputs are not in the clone's cache: apply fetches them from the remote.
    const applied = expectExit(await run(clone, 'exp', 'apply', 'mine', '--json'), 0);
    expect(json(applied).outs).toEqual({ restored: ['out/model.txt'], missing: [] });
    expect(read(clone, 'out/model.txt')).toBe('model lr=0.3 depth=3\n');
  });
});

describe('mlo exp push / exp pull', () => {
  it('refuses a record that breaks the run file schema or names another run, and says so', async () => {
    const remote = join(tempDir(), 'remote');
    const dir = await trainingRepo();
    await mlo(dir, 'remote', 'add', '--default', 'shared', remote);
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'remote');
    await mlo(dir, 'exp', 'run', '-S', 'lr=0.3');
    expect((await mlo(dir, 'exp', 'push')).exitCode).toBe(0);
    const [file] = readdirSync(join(remote, 'exps'));
    writeFileSync(join(remote, 'exps', 'aaaaaaaaaaaa.json'), read(join(remote, 'exps'), file));
    const clone = join(tempDir(), 'clone');
    await git(dir, 'clone', '-q', dir, clone);
    const pulled = await mlo(clone, 'exp', 'pull', '--json');
    expect(pulled.exitCode).toBe(1);
    expect(json(pulled).refused).toEqual([{ key: 'exps/aaaaaaaaaaaa.json', reason: `it holds run ${file.slice(0, -5)}, not aaaaaaaaaaaa` }]);

    writeFileSync(join(remote, 'exps', file), '{"schema":1}');
    const other = join(tempDir(), 'other');
    await git(dir, 'clone', '-q', dir, other);
    const bad = await mlo(other, 'exp', 'pull');
    expect(bad.exitCode).toBe(1);
    // Records are read in id order: either refusal may come first.
    expect(bad.stderr).toMatch(/exps\/\S+\.json: (id: |status: |it holds run )/);
    expect(bad.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
  });

  it('says when no remote is configured', async () => {
    const dir = await trainingRepo();
    const r = await mlo(dir, 'exp', 'pull');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/no remote is configured/);
  });
});
