/**
 * push, fetch, pull, status --cloud and gc --cloud end to end: the built binary in temp git repos,
 * against a local folder and S3 over HTTP.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { git, json, makeRepo, tempDir, writeTree, type Tree } from '../helpers.js';
import { addRemote, expectExit, localKind, runner, s3Kind, type RemoteKind } from './kinds.js';
import { s3Endpoints } from './servers.js';

const endpoints = await s3Endpoints();
afterAll(async () => {
  for (const e of endpoints) await e.stop();
});
const kinds: RemoteKind[] = [localKind(), ...endpoints.map(s3Kind)];

function dataset(): Tree {
  const tree: Tree = { 'model.bin': randomBytes(300_000), 'notes.txt': 'hello\n' };
  for (let i = 0; i < 6; i++) {
    tree[`data/images/cats/c${i}.jpg`] = randomBytes(2_000 + i);
    tree[`data/images/dogs/d${i}.jpg`] = randomBytes(3_000 + i);
  }
  tree['data/images/readme.md'] = '# images\n';
  return tree;
}

/** Every regular file under `dir` (relative path -> bytes), skipping .git and .mlo. */
function files(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(join(dir, rel))) {
    if (!rel && (name === '.git' || name === '.mlo')) continue;
    const r = rel ? `${rel}/${name}` : name;
    const st = statSync(join(dir, r));
    if (st.isDirectory()) for (const [k, v] of files(dir, r)) out.set(k, v);
    else out.set(r, readFileSync(join(dir, r)));
  }
  return out;
}

async function cloneOf(repo: string): Promise<string> {
  const dir = join(tempDir('mlo-clone-'), 'clone');
  await git(repo, 'clone', '-q', repo, dir);
  return dir;
}

/** A repo tracking `tree` (data/images as one directory, model.bin and notes.txt as files), committed. */
async function trackedRepo(kind: RemoteKind, tree: Tree = dataset()) {
  const dir = await makeRepo(tree);
  const run = runner(kind);
  expectExit(await run(dir, 'add', 'data/images', 'model.bin', 'notes.txt'), 0);
  const remote = await addRemote(kind, dir);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'data');
  return { dir, run, remote, tree };
}

describe.each(kinds)('sync with $label', (kind) => {
  it('round trip: push, clone, pull gives every file byte for byte; a second push sends nothing', async () => {
    const { dir, run, remote } = await trackedRepo(kind);
    const pushed = json(expectExit(await run(dir, 'push', '--json'), 0));
    // 13 files in the directory, its manifest, model.bin, notes.txt.
    expect(pushed).toMatchObject({ remote: 'store', uploaded: 16, present: 0, missingLocally: [] });
    const keys = await remote.keys();
    expect(keys.size).toBe(16);
    for (const k of keys.keys()) expect(k).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{62}(\.dir)?$/);

    const again = json(expectExit(await run(dir, 'push', '--json'), 0));
    expect(again).toMatchObject({ uploaded: 0, present: 16 });

    const clone = await cloneOf(dir);
    const pulled = json(expectExit(await run(clone, 'pull', '--json'), 0));
    expect(pulled.fetch).toMatchObject({ downloaded: 16, missing: [], corrupt: [] });
    expect(pulled.checkout.added.length).toBe(15);
    const want = files(dir);
    const got = files(clone);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, v] of want) expect(got.get(k)!.equals(v), k).toBe(true);

    const status = json(expectExit(await run(clone, 'status', '--cloud', '--json'), 0));
    expect(status).toMatchObject({ remote: 'store', inSync: true, totals: { objects: 16, both: 16 } });
  });

  it('pulls only the part of a directory that is asked for', async () => {
    const { dir, run } = await trackedRepo(kind);
    expectExit(await run(dir, 'push'), 0);
    const clone = await cloneOf(dir);
    const r = json(expectExit(await run(clone, 'pull', 'data/images/cats', '--json'), 0));
    // The manifest and the six cats, nothing else.
    expect(r.fetch.downloaded).toBe(7);
    expect(readdirSync(join(clone, 'data/images/cats')).sort()).toEqual(['c0.jpg', 'c1.jpg', 'c2.jpg', 'c3.jpg', 'c4.jpg', 'c5.jpg']);
    expect(existsSync(join(clone, 'data/images/dogs'))).toBe(false);
    expect(existsSync(join(clone, 'model.bin'))).toBe(false);
    const rest = json(expectExit(await run(clone, 'fetch', '--json'), 0));
    expect(rest).toMatchObject({ downloaded: 9, cached: 7 });
  });

  it('refuses a tampered object, naming it and the path that needs it; nothing reaches cache or workspace', async () => {
    const { dir, run, remote } = await trackedRepo(kind);
    expectExit(await run(dir, 'push'), 0);
    const pointer = readFileSync(join(dir, 'model.bin.mlo'), 'utf8');
    const hash = /hash: ([0-9a-f]{64})/.exec(pointer)![1];
    const key = `${hash.slice(0, 2)}/${hash.slice(2)}`;
    const good = await remote.read(key);
    const bad = Buffer.from(good);
    bad[1000] ^= 0xff;
    await remote.write(key, bad);

    const clone = await cloneOf(dir);
    const r = expectExit(await run(clone, 'pull'), 1);
    expect(r.stderr).toContain(hash);
    expect(r.stderr).toContain('model.bin');
    expect(r.stderr).toMatch(/corrupt/);
    expect(existsSync(join(clone, 'model.bin'))).toBe(false);
    expect(existsSync(join(clone, '.mlo/cache', hash.slice(0, 2), hash.slice(2)))).toBe(false);
    // The other data arrived, and the error document carries the result under --json.
    expect(readFileSync(join(clone, 'notes.txt'), 'utf8')).toBe('hello\n');
    const j = json(expectExit(await run(clone, 'fetch', '--json'), 1));
    expect(j.error.code).toBe('MLO_CORRUPT_REMOTE_OBJECT');
    expect(j.result.corrupt).toEqual([{ hash, path: 'model.bin', reason: 'its content does not match its hash' }]);

    // A truncated copy (same name, fewer bytes) is refused the same way.
    await remote.write(key, good.subarray(0, 10));
    const t = json(expectExit(await run(clone, 'fetch', 'model.bin', '--json'), 1));
    expect(t.result.corrupt[0]).toMatchObject({ hash, path: 'model.bin', reason: '10 bytes instead of 300000' });

    // Repaired on the remote: the pull completes.
    await remote.write(key, good);
    expectExit(await run(clone, 'pull'), 0);
    expect(readFileSync(join(clone, 'model.bin')).equals(good)).toBe(true);
  });

  it('reports objects the remote lacks, and status --cloud tells local-only, remote-only and missing apart', async () => {
    const { dir, run, remote } = await trackedRepo(kind);
    let s = json(expectExit(await run(dir, 'status', '--cloud', '--json'), 0));
    expect(s).toMatchObject({ inSync: false, totals: { objects: 16, localOnly: 16 } });
    expectExit(await run(dir, 'push', 'notes.txt'), 0);
    s = json(expectExit(await run(dir, 'status', '--cloud', '--json'), 0));
    expect(s.totals).toMatchObject({ both: 1, localOnly: 15 });
    expect(s.entries.find((e: { path: string }) => e.path === 'notes.txt')).toMatchObject({ localOnly: 0, remoteOnly: 0, missing: 0 });

    const clone = await cloneOf(dir);
    s = json(expectExit(await run(clone, 'status', '--cloud', '--json'), 0));
    // In the clone: notes.txt is only on the remote; model.bin and the directory's manifest nowhere.
    expect(s.totals).toMatchObject({ objects: 3, remoteOnly: 1, missing: 2 });
    const human = expectExit(await run(clone, 'status', '--cloud'), 0);
    expect(human.stdout).toMatch(/remote only: notes\.txt/);
    expect(human.stdout).toMatch(/missing: +model\.bin/);

    const r = expectExit(await run(clone, 'pull'), 1);
    expect(r.stderr).toMatch(/not on remote 'store'/);
    expect(r.stderr).toMatch(/model\.bin/);
    expect(readFileSync(join(clone, 'notes.txt'), 'utf8')).toBe('hello\n');
    expect((await remote.keys()).size).toBe(1);
  });

  it('pushes and fetches other revisions with --all-commits / --rev, and gc --cloud keeps only what the scope needs', async () => {
    const { dir, run, remote } = await trackedRepo(kind);
    const v1 = readFileSync(join(dir, 'notes.txt'));
    const first = (await git(dir, 'rev-parse', 'HEAD')).trim();
    writeTree(dir, { 'notes.txt': 'second version\n' });
    expectExit(await run(dir, 'commit', 'notes.txt'), 0);
    await git(dir, 'commit', '-q', '-am', 'v2');
    // Only the workspace: the old notes.txt stays local.
    expect(json(expectExit(await run(dir, 'push', '--json'), 0)).uploaded).toBe(16);
    expect(json(expectExit(await run(dir, 'push', '-A', '--json'), 0)).uploaded).toBe(1);
    expect((await remote.keys()).size).toBe(17);

    const clone = await cloneOf(dir);
    const f = json(expectExit(await run(clone, 'fetch', 'notes.txt', '--rev', first, '--json'), 0));
    expect(f.downloaded).toBe(2);
    await git(clone, 'checkout', '-q', first);
    expectExit(await run(clone, 'checkout', 'notes.txt'), 0);
    expect(readFileSync(join(clone, 'notes.txt')).equals(v1)).toBe(true);

    expectExit(await run(dir, 'gc', '--cloud'), 2);
    const dry = expectExit(await run(dir, 'gc', '--cloud', '-w', '--dry'), 0);
    expect(dry.stderr).toMatch(/would remove 1 object \(6 B\) that nothing in scope references from store/);
    expect((await remote.keys()).size).toBe(17);
    const keep = json(expectExit(await run(dir, 'gc', '--cloud', '-A', '--json'), 0));
    expect(keep).toMatchObject({ removed: [], kept: 17 });
    const gc = json(expectExit(await run(dir, 'gc', '--cloud', '-w', '--json'), 0));
    expect(gc).toMatchObject({ dry: false, bytes: 6, kept: 16 });
    expect(gc.removed.length).toBe(1);
    expect((await remote.keys()).size).toBe(16);
    // The index forgot the removed object: pushing the old revision uploads it again.
    expect(json(expectExit(await run(dir, 'push', '--rev', first, '--json'), 0)).uploaded).toBe(1);
  });

  it('resumes: objects already on the remote are skipped, the rest uploaded', async () => {
    const { dir, run, remote } = await trackedRepo(kind);
    expectExit(await run(dir, 'push', 'data/images/cats'), 0);
    // The cats and the directory's manifest (a clone needs it to pull the cats).
    expect((await remote.keys()).size).toBe(7);
    const r = json(expectExit(await run(dir, 'push', '--json'), 0));
    expect(r).toMatchObject({ uploaded: 9, present: 7 });
  });
});

describe('push and pull without a usable remote', () => {
  it('says how to add one', async () => {
    const dir = await makeRepo({ 'a.txt': 'a' });
    const run = runner(localKind());
    expectExit(await run(dir, 'add', 'a.txt'), 0);
    const r = json(expectExit(await run(dir, 'push', '--json'), 1));
    expect(r.error).toMatchObject({ code: 'MLO_NO_REMOTE' });
    expect(r.error.hint).toMatch(/mlo remote add/);
    // Nothing to download: pull needs no remote.
    expectExit(await run(dir, 'pull'), 0);
  });

  it('names the remote and object when a folder remote is gone', async () => {
    const dir = await makeRepo({ 'a.txt': 'a' });
    const run = runner(localKind());
    expectExit(await run(dir, 'add', 'a.txt'), 0);
    expectExit(await run(dir, 'remote', 'add', '-d', 'gone', join(tempDir(), 'nowhere')), 0);
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'x');
    const clone = await cloneOf(dir);
    const r = expectExit(await run(clone, 'pull'), 1);
    expect(r.stderr).toMatch(/remote 'gone': folder .*nowhere does not exist/);
  });

  it('refuses to push a corrupt cache object', async () => {
    const kind = localKind();
    const dir = await makeRepo({ 'a.txt': 'original' });
    const run = runner(kind);
    expectExit(await run(dir, 'add', 'a.txt'), 0);
    const remote = await addRemote(kind, dir);
    const hash = /hash: ([0-9a-f]{64})/.exec(readFileSync(join(dir, 'a.txt.mlo'), 'utf8'))![1];
    const obj = join(dir, '.mlo/cache', hash.slice(0, 2), hash.slice(2));
    const { chmodSync } = await import('node:fs');
    chmodSync(obj, 0o644);
    writeFileSync(obj, 'tampered');
    const r = json(expectExit(await run(dir, 'push', '--json'), 1));
    expect(r.error.code).toBe('MLO_CORRUPT_OBJECT');
    expect(r.error.message).toContain('a.txt');
    expect((await remote.keys()).size).toBe(0);
  });
});
