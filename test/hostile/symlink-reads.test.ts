/**
 * A symlink committed in a clone must not make metrics, params or plots commands read a file outside
 * the repository: the file is reported missing with reason `outside-repo`, its content never printed.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, makeRepo, mlo } from '../helpers.js';

async function linkedRepo(): Promise<string> {
  const dir = await makeRepo({});
  const outside = join(dir, '..', 'outside');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'secret.json'), '{"secret": 4242}\n');
  writeFileSync(join(outside, 'secret.yaml'), 'token: SECRET-4242\n');
  symlinkSync('../outside/secret.json', join(dir, 'metrics.json'));
  symlinkSync('../outside/secret.yaml', join(dir, 'params.yaml'));
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'links');
  return dir;
}

describe('a committed symlink to a file outside the repository is not read', () => {
  it('metrics show reports metrics.json missing (outside-repo) and prints no secret', async () => {
    const dir = await linkedRepo();
    const r = await mlo(dir, 'metrics', 'show', '--json');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).not.toMatch(/4242/);
    expect(json(r).revisions[0].missing).toEqual([expect.objectContaining({ file: 'metrics.json', reason: 'outside-repo' })]);
  });

  it('params diff reports params.yaml missing (outside-repo) and prints no secret', async () => {
    const dir = await linkedRepo();
    const r = await mlo(dir, 'params', 'diff', 'HEAD', '--json');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).not.toMatch(/SECRET/);
    expect(json(r).b.missing).toEqual([expect.objectContaining({ file: 'params.yaml', reason: 'outside-repo' })]);
  });
});
