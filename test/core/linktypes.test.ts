// `cache.type` hardlink and symlink for `mlo add`-ed data: the workspace holds links to the read-only
// objects, and status, a second add, commit and checkout treat them as the data they link to.
import { lstatSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, makeRepo, mlo } from '../helpers.js';

const TREE = { 'data/a.txt': 'alpha\n', 'data/sub/b.txt': 'beta\n', 'model.bin': 'weights\n' };

describe.each(['symlink', 'hardlink'] as const)('cache.type %s', (type) => {
  it('links the workspace to the cache, and reads the links back as unchanged data', async () => {
    const dir = await makeRepo(TREE);
    writeFileSync(join(dir, '.mlo/config.local.yaml'), `cache:\n  type: ${type}\n`);
    const added = await mlo(dir, 'add', 'data', 'model.bin');
    expect(added.exitCode, added.stderr).toBe(0);
    const model = join(dir, 'model.bin');
    if (type === 'symlink') expect(lstatSync(model).isSymbolicLink()).toBe(true);
    else expect(statSync(model).nlink).toBeGreaterThan(1);
    expect(readFileSync(join(dir, 'data/sub/b.txt'), 'utf8')).toBe('beta\n');

    const clean = json(await mlo(dir, 'status', '--json'));
    expect(clean.clean, JSON.stringify(clean)).toBe(true);
    // Adding (or committing) the same paths again changes nothing.
    const again = await mlo(dir, 'add', 'data', 'model.bin');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('unchanged data');
    expect((await mlo(dir, 'commit')).exitCode).toBe(0);
    expect(json(await mlo(dir, 'checkout', '--json'))).toMatchObject({ added: [], modified: [], deleted: [] });

    // Replacing a link by a file with other bytes is a modification; checkout puts the link back.
    rmSync(join(dir, 'data/a.txt'));
    writeFileSync(join(dir, 'data/a.txt'), 'changed\n');
    const dirty = json(await mlo(dir, 'status', '--json'));
    expect(dirty.entries.find((e: { path: string }) => e.path === 'data').modified).toEqual(['data/a.txt']);
    expect((await mlo(dir, 'checkout', '--force')).exitCode).toBe(0);
    expect(readFileSync(join(dir, 'data/a.txt'), 'utf8')).toBe('alpha\n');
    expect(json(await mlo(dir, 'status', '--json')).clean).toBe(true);
  });
});
