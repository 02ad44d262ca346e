/**
 * What a remote command counts as "everything": without targets, push, fetch, pull and
 * `status --cloud` include the model of every registry version (the set local gc keeps), and gc (local
 * and `--cloud`) keeps the objects the run cache's entries need, reading the remote's `runs/` itself.
 */
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LINEAR, LINEAR_V2, expectLinear } from '../model/fixtures.js';
import { git, json, makeRepo, read, tempDir } from '../helpers.js';
import { addRemote, expectExit, localKind, runner, s3Kind, type RemoteKind } from './kinds.js';
import { s3Endpoints } from './servers.js';

const endpoints = await s3Endpoints();
afterAll(async () => {
  for (const e of endpoints) await e.stop();
});

const require = createRequire(import.meta.url);
const blake3 = (bytes: string | Buffer): string => (require('@napi-rs/blake-hash') as { blake3(b: Buffer): Buffer }).blake3(Buffer.from(bytes)).toString('hex');
const keyOf = (hash: string): string => `${hash.slice(0, 2)}/${hash.slice(2)}`;
const cached = (dir: string, hash: string): string => join(dir, '.mlo/cache', hash.slice(0, 2), hash.slice(2));
/** An object on the remote that nothing references: gc must remove it (shows that gc ran at all). */
const JUNK = `ab${'c'.repeat(62)}`;

/** A clone: its committed config names the same remote; its cache starts empty. */
async function cloneOf(repo: string): Promise<string> {
  const dir = join(tempDir('mlo-clone-'), 'clone');
  await git(repo, 'clone', '-q', repo, dir);
  return dir;
}

/** churn@1 and churn@2 registered from the same package folder: v1's file was overwritten by v2's. */
async function twoVersions(kind: RemoteKind) {
  const dir = await makeRepo({ 'v1.onnx': LINEAR, 'v2.onnx': LINEAR_V2, 'data.csv': 'a,b,c\n1,2,3\n' }, { commit: true });
  const run = runner(kind);
  expectExit(await run(dir, 'model', 'package', 'v1.onnx', '--name', 'churn'), 0);
  const v1 = json(expectExit(await run(dir, 'model', 'register', 'models/churn', '--json'), 0));
  expectExit(await run(dir, 'model', 'package', 'v2.onnx', '--name', 'churn'), 0);
  const v2 = json(expectExit(await run(dir, 'model', 'register', 'models/churn', '--json'), 0));
  expect(v2.version).toBe(2);
  expect(v1.hash).toBe(blake3(LINEAR));
  const remote = await addRemote(kind, dir);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'churn v1 and v2');
  return { dir, run, remote, v1: v1.hash as string, v2: v2.hash as string };
}

describe('registry versions and a local folder remote', () => {
  it("push without targets sends an older version's model; a clone pulls it and predicts with churn@1", async () => {
    const { dir, run, remote, v1, v2 } = await twoVersions(localKind());
    const pushed = json(expectExit(await run(dir, 'push', '--json'), 0));
    expect(pushed.missingLocally).toEqual([]);
    const keys = await remote.keys();
    expect(keys.has(keyOf(v1))).toBe(true);
    expect(keys.has(keyOf(v2))).toBe(true);

    const clone = await cloneOf(dir);
    const pulled = json(expectExit(await run(clone, 'pull', '--json'), 0));
    expect(pulled.fetch.missing).toEqual([]);
    expect(existsSync(cached(clone, v1))).toBe(true);
    // Only the workspace's pointer is checked out: the registry version has no workspace path.
    expect(pulled.checkout.added).toEqual(['models/churn/model.onnx']);
    expect(existsSync(join(clone, 'registry/churn@1'))).toBe(false);
    expectExit(await run(clone, 'predict', 'churn@1', '-i', 'data.csv', '-o', 'p1.csv'), 0);
    expect(read(clone, 'p1.csv').trim().split('\n')[1].split(',').map(Number)).toEqual(expectLinear([1, 2, 3]));

    // fetch alone also brings it (a clone whose cache lost it).
    chmodSync(cached(clone, v1), 0o644);
    rmSync(cached(clone, v1));
    const fetched = json(expectExit(await run(clone, 'fetch', '--json'), 0));
    expect(fetched.downloaded).toBe(1);
    expect(existsSync(cached(clone, v1))).toBe(true);
  });

  it('with targets, push sends only what they name', async () => {
    const { dir, run, remote, v1, v2 } = await twoVersions(localKind());
    const pushed = json(expectExit(await run(dir, 'push', 'models/churn/model.onnx', '--json'), 0));
    expect(pushed.uploaded).toBe(1);
    const keys = await remote.keys();
    expect(keys.has(keyOf(v2))).toBe(true);
    expect(keys.has(keyOf(v1))).toBe(false);
  });

  it('status --cloud counts it, and gc --cloud -w keeps it', async () => {
    const { dir, run, remote, v1 } = await twoVersions(localKind());
    const before = json(expectExit(await run(dir, 'status', '--cloud', '--json'), 0));
    expect(before.totals).toMatchObject({ objects: 2, localOnly: 2 });
    expect(before.entries).toContainEqual({ path: 'registry/churn@1', objects: 1, localOnly: 1, remoteOnly: 0, missing: 0 });
    expectExit(await run(dir, 'push'), 0);
    const after = json(expectExit(await run(dir, 'status', '--cloud', '--json'), 0));
    expect(after).toMatchObject({ inSync: true, totals: { objects: 2, both: 2 } });

    await remote.write(keyOf(JUNK), Buffer.from('junk'));
    const gc = json(expectExit(await run(dir, 'gc', '--cloud', '-w', '--json'), 0));
    expect(gc.removed).toEqual([{ hash: JUNK, size: 4 }]);
    expect((await remote.keys()).has(keyOf(v1))).toBe(true);
  });

  it('a version whose model is not in the local cache is reported by push, as a missing object is', async () => {
    const { dir, run, remote, v1 } = await twoVersions(localKind());
    chmodSync(cached(dir, v1), 0o644);
    rmSync(cached(dir, v1));
    const r = expectExit(await run(dir, 'push', '--json'), 0);
    expect(json(r)).toMatchObject({ uploaded: 1, missingLocally: [{ hash: v1, path: 'registry/churn@1' }] });
    const plain = expectExit(await run(dir, 'push'), 0);
    expect(plain.stderr).toContain('1 object is not in the local cache and was not pushed: registry/churn@1');
    expect((await remote.keys()).has(keyOf(v1))).toBe(false);
  });
});

const PIPELINE = `stages:
  train:
    cmd: mkdir -p model && cp raw.txt model/weights.bin && echo "scored $(cat raw.txt)" > score.txt
    deps: [raw.txt]
    outs: [model]
    metrics:
      - score.txt: {cache: false}
`;

/**
 * Runs for raw.txt = v2 and then v1 (committed): the workspace references v1's outputs; v2's objects
 * (its weights file, its directory manifest, its score) are named only by v2's run-cache entry.
 */
async function twoRuns(kind: RemoteKind) {
  const dir = await makeRepo({ 'mlo.yaml': PIPELINE, 'raw.txt': 'v2\n' });
  const run = runner(kind);
  expectExit(await run(dir, 'run'), 0);
  const v2Manifest = /path: model\n\s+hash: ([0-9a-f]{64}\.dir)/.exec(read(dir, 'mlo.lock'))![1];
  writeFileSync(join(dir, 'raw.txt'), 'v1\n');
  expectExit(await run(dir, 'run'), 0);
  const remote = await addRemote(kind, dir);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'v1');
  // An uncached out (score.txt) is in the cache only for the run cache, v1's as well as v2's.
  const onlyRunCache = [blake3('v2\n'), blake3('scored v2\n'), v2Manifest, blake3('scored v1\n')];
  return { dir, run, remote, onlyRunCache };
}

describe('local gc and the run cache', () => {
  it('keeps the objects run-cache entries need, unless --no-run-cache', async () => {
    const { dir, run, onlyRunCache } = await twoRuns(localKind());
    const gc = json(expectExit(await run(dir, 'gc', '-w', '--json'), 0));
    expect(gc.removed).toEqual([]);
    expect(gc.runCache).toEqual({ entries: 2, damaged: [] });
    for (const h of onlyRunCache) expect(existsSync(cached(dir, h)), h).toBe(true);
    const dropped = json(expectExit(await run(dir, 'gc', '-w', '--no-run-cache', '--dry', '--json'), 0));
    expect(dropped.removed.map((o: { hash: string }) => o.hash).sort()).toEqual([...onlyRunCache].sort());

    // An entry edited by hand no longer matches its key: a warning, and what it names is still kept.
    const runsDir = join(dir, '.mlo/cache/runs');
    const files = readdirSync(runsDir, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.json'));
    const v2File = files.find((f) => JSON.parse(readFileSync(join(runsDir, f), 'utf8')).deps[0].hash === blake3('v2\n'))!;
    const entry = JSON.parse(readFileSync(join(runsDir, v2File), 'utf8'));
    writeFileSync(join(runsDir, v2File), JSON.stringify({ ...entry, cmd: `${entry.cmd} # edited` }));
    const damaged = expectExit(await run(dir, 'gc', '-w', '--json'), 0);
    expect(json(damaged)).toMatchObject({ removed: [], runCache: { entries: 2, damaged: [{ reason: 'its content does not match its key' }] } });
    const plain = expectExit(await run(dir, 'gc', '-w'), 0);
    expect(plain.stderr).toContain('1 run-cache entry fails its checks');
    for (const h of onlyRunCache) expect(existsSync(cached(dir, h)), h).toBe(true);
  });
});

const kinds: RemoteKind[] = [localKind(), ...endpoints.map(s3Kind)];

describe.each(kinds)('gc --cloud and the remote run cache with $label', (kind) => {
  it('keeps objects that only a pushed run-cache entry references, read from the remote by a fresh clone', async () => {
    const { dir, run, remote, onlyRunCache } = await twoRuns(kind);
    expectExit(await run(dir, 'push', '--run-cache'), 0);
    const keys = await remote.keys();
    for (const h of onlyRunCache) expect(keys.has(keyOf(h)), h).toBe(true);
    await remote.write(keyOf(JUNK), Buffer.from('junk'));

    // The clone has neither the run cache nor v2's manifest: gc reads both from the remote.
    const clone = await cloneOf(dir);
    const dry = json(expectExit(await run(clone, 'gc', '--cloud', '-w', '--no-run-cache', '--dry', '--json'), 0));
    expect(dry.removed.map((o: { hash: string }) => o.hash).sort()).toEqual([...onlyRunCache, JUNK].sort());
    const gc = json(expectExit(await run(clone, 'gc', '--cloud', '-w', '--json'), 0));
    expect(gc.removed).toEqual([{ hash: JUNK, size: 4 }]);
    expect(gc.runCache).toEqual({ entries: 2, refused: [] });
    const after = await remote.keys();
    for (const h of onlyRunCache) expect(after.has(keyOf(h)), h).toBe(true);
    expect([...after.keys()].filter((k) => k.startsWith('runs/')).length).toBe(2);

    // What gc kept is what a colleague's run needs: v2 is restored, not run.
    const pulled = await cloneOf(dir);
    expectExit(await run(pulled, 'pull', '--run-cache'), 0);
    writeFileSync(join(pulled, 'raw.txt'), 'v2\n');
    const r = json(expectExit(await run(pulled, 'run', '--json'), 0));
    expect(r.stages[0]).toMatchObject({ name: 'train', status: 'restored', restoredFrom: 'run-cache' });
  });
});

describe('gc --cloud with a damaged run-cache entry on a local folder remote', () => {
  it('warns, keeps going, keeps the objects the entry still names and leaves the entry', async () => {
    const { dir, run, remote, onlyRunCache } = await twoRuns(localKind());
    expectExit(await run(dir, 'push', '--run-cache'), 0);
    const runKeys = [...(await remote.keys()).keys()].filter((k) => k.startsWith('runs/'));
    // v2's entry changed under its name (its bytes no longer hash to it), and a copy that is not JSON.
    let v2Entry = '';
    for (const k of runKeys) {
      const entry = JSON.parse((await remote.read(k)).toString('utf8'));
      if (entry.deps[0].hash !== blake3('v2\n')) continue;
      v2Entry = k;
      entry.cmd = `${entry.cmd} # edited`;
      await remote.write(k, Buffer.from(JSON.stringify(entry)));
    }
    expect(v2Entry).not.toBe('');
    const garbage = `${v2Entry.slice(0, v2Entry.lastIndexOf('/'))}/${blake3('not json')}.json`;
    await remote.write(garbage, Buffer.from('not json'));
    await remote.write(keyOf(JUNK), Buffer.from('junk'));

    const clone = await cloneOf(dir);
    const r = expectExit(await run(clone, 'gc', '--cloud', '-w', '--json'), 0);
    const gc = json(r);
    expect(gc.removed).toEqual([{ hash: JUNK, size: 4 }]);
    expect(gc.runCache.entries).toBe(3);
    expect(gc.runCache.refused).toEqual(
      [
        { key: v2Entry.split('/')[2], entry: v2Entry, reason: 'its content does not match its hash' },
        { key: v2Entry.split('/')[2], entry: garbage, reason: 'it is not valid JSON' },
      ].sort((a, b) => (a.entry < b.entry ? -1 : 1)),
    );
    const after = await remote.keys();
    for (const h of onlyRunCache) expect(after.has(keyOf(h)), h).toBe(true);
    expect(after.has(v2Entry)).toBe(true);
    expect(after.has(garbage)).toBe(true);

    const plain = expectExit(await run(clone, 'gc', '--cloud', '-w'), 0);
    expect(plain.stderr).toContain('2 run-cache entries on the remote fail their checks');
    expect(plain.stderr).not.toMatch(/\n\s+at /);
  });
});
