import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINEAR, LINEAR_V2 } from '../model/fixtures.js';
import { json, makeRepo, mlo } from '../helpers.js';

describe('gc and the model registry', () => {
  it('keeps the blob of every registered version, even after a newer package overwrote the file', async () => {
    const repo = await makeRepo({ 'v1.onnx': LINEAR, 'v2.onnx': LINEAR_V2 }, { commit: true });
    expect((await mlo(repo, 'model', 'package', 'v1.onnx', '--name', 'churn')).exitCode).toBe(0);
    const v1 = json(await mlo(repo, 'model', 'register', 'models/churn', '--json'));
    expect((await mlo(repo, 'model', 'package', 'v2.onnx', '--name', 'churn')).exitCode).toBe(0);
    expect(json(await mlo(repo, 'model', 'register', 'models/churn', '--json')).version).toBe(2);

    const gc = json(await mlo(repo, 'gc', '--workspace', '--json'));
    expect(gc.removed.map((o: { hash: string }) => o.hash)).not.toContain(v1.hash);
    expect(existsSync(join(repo, '.mlo/cache', v1.hash.slice(0, 2), v1.hash.slice(2)))).toBe(true);
    const show = await mlo(repo, 'model', 'show', 'churn@1', '--json');
    expect(show.exitCode, show.stderr).toBe(0);
  });
});
