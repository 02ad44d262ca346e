/**
 * `push/fetch/pull --run-cache`: run-cache entries travel under `runs/` beside the objects, each with the
 * objects its outs need, so a colleague's `mlo run` restores instead of re-running. What comes down is
 * checked like objects are: an entry must parse, keep its paths inside the repository and match its key.
 */
import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { git, json, makeRepo, read, tempDir } from '../helpers.js';
import { addRemote, expectExit, localKind, runner, s3Kind, type RemoteKind } from './kinds.js';
import { s3Endpoints } from './servers.js';

const endpoints = await s3Endpoints();
afterAll(async () => {
  for (const e of endpoints) await e.stop();
});
const kinds: RemoteKind[] = [localKind(), ...endpoints.map(s3Kind)];

const PIPELINE = `stages:
  train:
    cmd: mkdir -p model && cp raw.txt model/weights.bin && echo "scored $(cat raw.txt)" > score.txt && echo ran >> runs.log
    deps: [raw.txt]
    outs: [model]
    metrics:
      - score.txt: {cache: false}
`;

const RUN_KEY = /^runs\/([0-9a-f]{2})\/([0-9a-f]{64})\/([0-9a-f]{64})\.json$/;
const require = createRequire(import.meta.url);
const blake3 = (bytes: Buffer): string => (require('@napi-rs/blake-hash') as { blake3(b: Buffer): Buffer }).blake3(bytes).toString('hex');

/** A repo whose run cache holds two runs (raw.txt = v1, committed, and v2), with a remote. */
async function twoRuns(kind: RemoteKind) {
  const dir = await makeRepo({ 'mlo.yaml': PIPELINE, 'raw.txt': 'v1\n', '.gitignore': 'runs.log\n' });
  const run = runner(kind);
  expectExit(await run(dir, 'run'), 0);
  const remote = await addRemote(kind, dir);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'v1');
  writeFileSync(join(dir, 'raw.txt'), 'v2\n');
  expectExit(await run(dir, 'run'), 0);
  writeFileSync(join(dir, 'raw.txt'), 'v1\n');
  expectExit(await run(dir, 'run'), 0);
  expect(read(dir, 'runs.log')).toBe('ran\nran\n');
  return { dir, run, remote };
}

/** A clone: its committed config names the same remote. */
async function cloneOf(repo: string): Promise<string> {
  const dir = join(tempDir('mlo-clone-'), 'clone');
  await git(repo, 'clone', '-q', repo, dir);
  return dir;
}

describe.each(kinds)('run cache with $label', (kind) => {
  it('push --run-cache sends entries and their objects; a clone pulls them and restores instead of running', async () => {
    const { dir, run, remote } = await twoRuns(kind);
    const pushed = json(expectExit(await run(dir, 'push', '--run-cache', '--json'), 0));
    expect(pushed.runCache).toEqual({ uploaded: 2, present: 0, skipped: [] });
    const keys = [...(await remote.keys()).keys()];
    const runKeys = keys.filter((k) => k.startsWith('runs/'));
    expect(runKeys.length).toBe(2);
    for (const k of runKeys) expect(k).toMatch(RUN_KEY);
    const again = json(expectExit(await run(dir, 'push', '--run-cache', '--json'), 0));
    expect(again.runCache).toEqual({ uploaded: 0, present: 2, skipped: [] });
    expect(again.uploaded).toBe(0);

    const clone = await cloneOf(dir);
    const pulled = json(expectExit(await run(clone, 'pull', '--run-cache', '--json'), 0));
    expect(pulled.fetch.runCache).toMatchObject({ downloaded: 2, present: 0, refused: [], objects: { missing: [], corrupt: [] } });
    expect(read(clone, 'model/weights.bin')).toBe('v1\n');
    // v2 ran only on the other machine: here it is restored from the fetched run cache.
    writeFileSync(join(clone, 'raw.txt'), 'v2\n');
    const r = json(expectExit(await run(clone, 'run', '--json'), 0));
    expect(r.stages[0]).toMatchObject({ name: 'train', status: 'restored', restoredFrom: 'run-cache' });
    expect(read(clone, 'model/weights.bin')).toBe('v2\n');
    expect(read(clone, 'score.txt')).toBe('scored v2\n');
    expect(existsSync(join(clone, 'runs.log'))).toBe(false);

    const fetched = json(expectExit(await run(clone, 'fetch', '--run-cache', '--json'), 0));
    expect(fetched.runCache).toMatchObject({ downloaded: 0, present: 2, objects: { downloaded: 0 } });
  });

  it('refuses a tampered entry or one with a path outside the repository; stores the good ones', async () => {
    const { dir, run, remote } = await twoRuns(kind);
    expectExit(await run(dir, 'push', '--run-cache'), 0);
    const [goodKey] = [...(await remote.keys()).keys()].filter((k) => k.startsWith('runs/'));
    const entry = JSON.parse((await remote.read(goodKey)).toString('utf8'));

    // One entry's bytes changed under its name; another with a path out of the repository, named by
    // its own hash (so only the path check can refuse it).
    const tampered = structuredClone(entry);
    tampered.outs[0].size += 1;
    await remote.write(goodKey, Buffer.from(JSON.stringify(tampered)));
    const escaping = structuredClone(entry);
    escaping.outs[0].path = '../outside';
    const escapingBytes = Buffer.from(JSON.stringify(escaping));
    const badKey = `runs/ab/ab${'0'.repeat(62)}/${blake3(escapingBytes)}.json`;
    await remote.write(badKey, escapingBytes);

    const clone = await cloneOf(dir);
    const r = await run(clone, 'fetch', '--run-cache', '--json');
    expect(r.exitCode, r.stderr).toBe(1);
    const err = json(r);
    expect(err.error.code).toBe('MLO_CORRUPT_REMOTE_OBJECT');
    expect(err.error.message).toMatch(/holds a bad run-cache entry runs\/[0-9a-f]{2}\/[0-9a-f]{64}\/[0-9a-f]{64}\.json: .* \(and 1 more\); it was not stored/);
    const refused: { entry: string; reason: string }[] = err.result.runCache.refused;
    expect(refused.map((x) => x.entry).sort()).toEqual([badKey, goodKey].sort());
    expect(refused.find((x) => x.entry === badKey)!.reason).toContain("no '..'");
    expect(refused.find((x) => x.entry === goodKey)!.reason).toBe('its content does not match its hash');
    expect(err.result.runCache.downloaded).toBe(1);
    const local = readdirSync(join(clone, '.mlo/cache/runs'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.json'));
    expect(local.length).toBe(1);

    const plain = await run(clone, 'pull', '--run-cache');
    expect(plain.exitCode).toBe(1);
    expect(plain.stderr).toContain('bad run-cache entry');
    expect(plain.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('run cache push with a local folder', () => {
  it('skips entries whose outputs are no longer in the cache, with a warning', async () => {
    const kind = localKind();
    const { dir, run, remote } = await twoRuns(kind);
    // v2's directory manifest leaves the cache (as after `mlo gc`): its entry cannot be pushed.
    writeFileSync(join(dir, 'raw.txt'), 'v2\n');
    const v2 = json(expectExit(await run(dir, 'run', '--json'), 0));
    expect(v2.stages[0].restoredFrom).toBe('run-cache');
    const manifestHash = /path: model\n\s+hash: ([0-9a-f]{64})\.dir/.exec(read(dir, 'mlo.lock'))![1];
    const manifestFile = join(dir, '.mlo/cache', manifestHash.slice(0, 2), `${manifestHash.slice(2)}.dir`);
    chmodSync(manifestFile, 0o644);
    rmSync(manifestFile);
    const r = expectExit(await run(dir, 'push', '--run-cache', '--json'), 0);
    const pushed = json(r);
    expect(pushed.runCache.uploaded).toBe(1);
    expect(pushed.runCache.skipped.length).toBe(1);
    expect(pushed.runCache.skipped[0].reason).toContain('manifest of model is not in the cache');
    expect(r.stderr).toContain('1 run-cache entry was not pushed');
    expect([...(await remote.keys()).keys()].filter((k) => k.startsWith('runs/')).length).toBe(1);
  });
});
