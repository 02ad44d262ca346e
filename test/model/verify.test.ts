/**
 * Known input, known output (issue 14, item 6): `model package --example` records the example's output;
 * `mlo model verify` and `mlo serve` at start-up run it again. A swapped model file whose hash was
 * written into model.yaml (a hand edit, a bad merge) passes every hash check and is caught only here.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, makeRepo, mlo, read, writeTree } from '../helpers.js';
import { LINEAR, LINEAR_V2, serve } from './fixtures.js';

/** Puts `bytes` in place of the package's model file and makes model.yaml describe it. */
async function swapModel(repo: string, pkg: string, bytes: Buffer): Promise<void> {
  const yamlFile = join(repo, pkg, 'model.yaml');
  const before = read(repo, join(pkg, 'model.yaml'));
  const oldHash = /hash: ([0-9a-f]{64})/.exec(before)![1];
  // The tracked file is a read-only cache link: replace it, never write through it.
  rmSync(join(repo, pkg, 'model.onnx'));
  writeFileSync(join(repo, pkg, 'model.onnx'), bytes);
  const info = json(await mlo(repo, 'model', 'inspect', join(pkg, 'model.onnx'), '--json'));
  writeFileSync(yamlFile, before.replace(oldHash, info.hash).replace(/size: \d+/, `size: ${info.size}`));
}

describe('mlo model verify', () => {
  it('passes on the packaged model, fails on a swapped one naming the output and the difference, for packages and versions', { timeout: 90_000 }, async () => {
    const repo = await makeRepo(
      {
        'lin.onnx': LINEAR,
        'ex.json': JSON.stringify({
          x: [
            [1, 2, 3],
            [4, 5, 6],
          ],
        }),
      },
      { commit: true },
    );
    expect((await mlo(repo, 'model', 'package', 'lin.onnx', '--name', 'lin', '--example', 'ex.json')).exitCode).toBe(0);
    expect((await mlo(repo, 'model', 'register', 'models/lin')).exitCode).toBe(0);

    const ok = await mlo(repo, 'model', 'verify', 'lin@1', '--json');
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(json(ok)).toEqual({
      label: 'lin@1',
      ok: true,
      synthesized: false,
      rtol: 1e-5,
      atol: 1e-6,
      outputs: [{ name: 'y', ok: true, values: 4, mismatched: 0, maxAbsDiff: 0 }],
    });
    const human = await mlo(repo, 'model', 'verify', 'models/lin');
    expect(human.exitCode, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^OK models\/lin gives its recorded output for its recorded input example/);

    await swapModel(repo, 'models/lin', LINEAR_V2);
    // y was [x0+x2+0.5, x1+x2-0.5], now [2x0, 2x1]: for [1,2,3] y0 moves from 4.5 to 2, the largest move.
    const bad = await mlo(repo, 'model', 'verify', 'models/lin');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr.split('\n')[0]).toBe(
      "error: models/lin no longer gives its recorded output for its recorded input (rtol 0.00001, atol 0.000001): output 'y': 4 of 4 values moved, max abs difference 2.50",
    );
    const badJson = await mlo(repo, 'model', 'verify', 'models/lin', '--json');
    expect(badJson.exitCode).toBe(1);
    expect(json(badJson)).toMatchObject({ ok: false, outputs: [{ name: 'y', ok: false, mismatched: 4, maxAbsDiff: 2.5 }] });
    // A tolerance wide enough lets it through: the tolerance is what decides.
    expect((await mlo(repo, 'model', 'verify', 'models/lin', '--atol', '4')).exitCode).toBe(0);

    // The registry keeps the example with the version: the swapped package registered is caught by reference.
    expect((await mlo(repo, 'model', 'register', 'models/lin')).exitCode).toBe(0);
    const v2 = await mlo(repo, 'model', 'verify', 'lin@2', '--json');
    expect(v2.exitCode).toBe(1);
    expect(json(v2)).toMatchObject({ label: 'lin@2', ok: false });
    expect((await mlo(repo, 'model', 'verify', 'lin@1')).exitCode).toBe(0);

    // serve runs the same check before taking traffic.
    const refused = await mlo(repo, 'serve', 'lin@2', '--port', '0', '--json');
    expect(refused.exitCode).toBe(1);
    expect(json(refused).error).toMatchObject({ code: 'MLO_EXAMPLE_MISMATCH' });
    expect(json(refused).error.message).toMatch(/^lin@2 no longer gives its recorded output .*output 'y': 4 of 4 values moved, max abs difference 2.50$/);
    const skipped = await serve(repo, ['lin@2', '--no-verify']);
    try {
      expect(skipped.info.models).toMatchObject([{ name: 'lin', version: 2, verified: false }]);
    } finally {
      await skipped.stop();
    }
    const good = await serve(repo, ['lin@1']);
    try {
      expect(good.info.models).toMatchObject([{ name: 'lin', version: 1, verified: true }]);
      // The check is no traffic: no batch is counted before the first request.
      const metrics = await (await fetch(`${good.url}/metrics`)).text();
      expect(metrics).not.toMatch(/mlo_batch_size_count\{[^}]*\} [1-9]/);
    } finally {
      await good.stop();
    }
  });

  it('catches a swap even without --example (the made-up input is not all zeros), and refuses a model with nothing recorded', async () => {
    const repo = await makeRepo({ 'lin.onnx': LINEAR });
    expect((await mlo(repo, 'model', 'package', 'lin.onnx', '--name', 'lin')).exitCode).toBe(0);
    const ok = await mlo(repo, 'model', 'verify', 'models/lin', '--json');
    expect(json(ok)).toMatchObject({ ok: true, synthesized: true });
    await swapModel(repo, 'models/lin', LINEAR_V2);
    expect((await mlo(repo, 'model', 'verify', 'models/lin')).exitCode).toBe(1);

    writeTree(repo, { 'bare.onnx': LINEAR });
    const none = await mlo(repo, 'model', 'verify', 'bare.onnx', '--json');
    expect(none.exitCode).toBe(1);
    expect(json(none).error).toMatchObject({ code: 'MLO_NO_EXAMPLE', message: 'bare.onnx has no recorded example output to verify against' });
    const badTol = await mlo(repo, 'model', 'verify', 'models/lin', '--rtol', '-1');
    expect(badTol.exitCode).toBe(2);
  });
});
