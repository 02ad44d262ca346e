/**
 * A run record is untrusted input whether it comes from a shared remote (`exp pull`) or a clone's
 * committed `.mlo/tracking/runs/`: the files its snapshot names are written back by `exp apply` and
 * committed by `exp branch`, so a key that climbs out of the repository, or into `.mlo/`, is refused.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, mlo, tempDir } from '../helpers.js';
import { trainingRepo } from '../tracking/fixture.js';

const ID = 'abcdef123456';

function record(params: Record<string, string>): string {
  return JSON.stringify({
    schema: 1,
    id: ID,
    experiment: 'default',
    name: 'evil',
    status: 'finished',
    start_time: 1,
    end_time: 2,
    git_commit: null,
    branch: null,
    dirty: null,
    command: null,
    user: null,
    host: null,
    source: null,
    params: {},
    tags: {},
    metrics: {},
    lineage: [],
    snapshot: { params },
  });
}

/** A repository inside its own folder, so `../ESCAPED.txt` lands in a folder the test can watch. */
async function victimRepo(): Promise<{ dir: string; escaped: string }> {
  const dir = await trainingRepo();
  return { dir, escaped: join(dir, '..', 'ESCAPED.txt') };
}

describe('a run record cannot make exp apply write outside the repository', () => {
  it('exp pull refuses a remote record whose snapshot names ../ESCAPED.txt, and apply finds no such run', async () => {
    const { dir, escaped } = await victimRepo();
    const remote = join(tempDir(), 'remote');
    mkdirSync(join(remote, 'exps'), { recursive: true });
    writeFileSync(join(remote, 'exps', `${ID}.json`), record({ '../ESCAPED.txt': 'pwned\n' }));
    await mlo(dir, 'remote', 'add', '--default', 'shared', remote);
    const pulled = await mlo(dir, 'exp', 'pull', '--json');
    expect(pulled.exitCode, pulled.stderr).toBe(1);
    expect(json(pulled).error.message).toMatch(/abcdef123456\.json: snapshot\.params\.\.\.\/ESCAPED\.txt: must be a relative path inside the repository/);
    const applied = await mlo(dir, 'exp', 'apply', ID);
    expect(applied.exitCode).not.toBe(0);
    expect(existsSync(escaped)).toBe(false);
  });

  it('refuses a snapshot key inside .mlo/ from the remote', async () => {
    const { dir } = await victimRepo();
    const remote = join(tempDir(), 'remote');
    mkdirSync(join(remote, 'exps'), { recursive: true });
    writeFileSync(join(remote, 'exps', `${ID}.json`), record({ '.mlo/config.yaml': 'core: {}\n' }));
    await mlo(dir, 'remote', 'add', '--default', 'shared', remote);
    const pulled = await mlo(dir, 'exp', 'pull');
    expect(pulled.exitCode).toBe(1);
    expect(pulled.stderr).toMatch(/snapshot\.params\.\.mlo\/config\.yaml: .*not in \.git or \.mlo/);
  });

  it('a committed run file with an escaping snapshot is refused by name; apply and branch write nothing', async () => {
    const origin = await trainingRepo();
    mkdirSync(join(origin, '.mlo', 'tracking', 'runs'), { recursive: true });
    writeFileSync(join(origin, '.mlo', 'tracking', 'runs', `${ID}.json`), record({ '../ESCAPED.txt': 'pwned\n' }));
    await git(origin, 'add', '-f', '.mlo/tracking/runs');
    await git(origin, 'commit', '-q', '-m', 'attack');
    const clone = join(tempDir(), 'clone');
    await git(origin, 'clone', '-q', origin, clone);
    for (const args of [
      ['exp', 'apply', ID],
      ['exp', 'branch', ID, 'evil'],
    ]) {
      const r = await mlo(clone, ...args);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/abcdef123456\.json: snapshot\.params\.\.\.\/ESCAPED\.txt: must be a relative path/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(clone, '..', 'ESCAPED.txt'))).toBe(false);
  });
});
