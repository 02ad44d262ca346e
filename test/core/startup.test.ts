// mlo starts from a one-file bundle with V8's code cache (src/cli/boot.ts, scripts/bundle.mjs); the
// ES modules in dist/ (MLO_BUNDLE=0) must behave exactly the same, errors included.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, makeRepo, mlo, mloWith, tempDir } from '../helpers.js';

const unbundled = { MLO_BUNDLE: '0' };

describe('start-up bundle', () => {
  it('gives the same results as the ES modules', async () => {
    const repo = await makeRepo({ 'data/a.txt': 'a\n', 'data/b/c.txt': 'c\n', 'model.bin': 'weights' });
    expect((await mlo(repo, 'add', 'data', 'model.bin')).exitCode).toBe(0);
    for (const args of [
      ['status', '--json'],
      ['list', '--json'],
      ['diff', '--json'],
    ]) {
      expect(json(await mlo(repo, ...args))).toEqual(json(await mloWith({ cwd: repo, env: unbundled }, ...args)));
    }
    // An MloError thrown deep in core must still be recognised as one (one class in the bundle).
    for (const env of [{}, unbundled]) {
      const r = await mloWith({ cwd: repo, env }, 'add', 'nope.csv');
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^error: .*nope\.csv/);
      expect(r.stderr).not.toMatch(/at .*\.(js|cjs):\d+/);
    }
  });

  it('reports the bundle and its code cache in doctor', async () => {
    const repo = await makeRepo();
    const cacheDir = tempDir('mlo-code-cache-');
    const env = { MLO_CODE_CACHE: cacheDir };
    type Doctor = { startup: { bundle?: string; codeCache?: string; codeCacheSaved: boolean } };
    const first = json<Doctor>(await mloWith({ cwd: repo, env }, 'doctor', '--json'));
    expect(first.startup.bundle).toMatch(/dist[/\\]mlo\.cjs$/);
    expect(first.startup.codeCache?.startsWith(join(cacheDir, 'mlo-'))).toBe(true);
    expect(first.startup.codeCacheSaved).toBe(false);
    const second = json<Doctor>(await mloWith({ cwd: repo, env }, 'doctor', '--json'));
    expect(second.startup).toEqual({ ...first.startup, codeCacheSaved: true });
    const off = json<Doctor>(await mloWith({ cwd: repo, env: unbundled }, 'doctor', '--json'));
    expect(off.startup).toEqual({ codeCacheSaved: false });
  });
});
