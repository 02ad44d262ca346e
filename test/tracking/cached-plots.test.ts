/**
 * A stage's `plots:` file is a cached out on defaults: git holds only its hash in mlo.lock. `plots diff`
 * reads it through that hash, as metrics and params commands do, instead of warning "not committed".
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, makeRepo, mlo } from '../helpers.js';

const PIPELINE = `stages:
  train:
    cmd: node -e "require('fs').writeFileSync('loss.csv', 'step,loss\\\\n0,1\\\\n1,0.5\\\\n')"
    plots: [loss.csv]
`;

describe('plots diff at a revision reads a cached plots file through mlo.lock', () => {
  it('draws loss.csv at HEAD from the cache; without the cache it says why, naming the file', async () => {
    const dir = await makeRepo({ 'mlo.yaml': PIPELINE });
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'run');
    expect(await git(dir, 'ls-tree', '--name-only', 'HEAD')).not.toMatch(/^loss\.csv$/m);
    const r = await mlo(dir, 'plots', 'diff', 'HEAD', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/not committed/);
    const spec = json(r).specs.find((s: { title: string }) => s.title === 'loss.csv');
    expect(spec.data.values).toEqual([
      { step: 0, loss: 1 },
      { step: 1, loss: 0.5 },
    ]);

    const cache = join(dir, '.mlo', 'cache');
    for (const name of readdirSync(cache)) rmSync(join(cache, name), { recursive: true, force: true });
    const gone = await mlo(dir, 'plots', 'diff', 'HEAD', '-o', 'p.html');
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toMatch(/loss\.csv at HEAD: .*(cache|remote)/);
  });
});
