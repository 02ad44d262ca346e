/**
 * What push, gc --cloud and the config do when things are not as mlo left them: a remote that lost
 * objects behind the index's back, credentials in the committed config, a local-only default,
 * directories whose manifest is gone, folders that cannot be made or written, full disks, and
 * temp files left by an interrupted upload.
 */
import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { json, makeRepo, mlo, tempDir } from '../helpers.js';
import { addRemote, expectExit, localKind, runner, s3Kind, type RemoteKind } from './kinds.js';
import { s3Endpoints, type S3Endpoint } from './servers.js';

const endpoints = await s3Endpoints();
afterAll(async () => {
  for (const e of endpoints) await e.stop();
});

/** Empties a remote behind mlo's back (a folder wiped by hand, a bucket emptied by another tool). */
type Wipe = (url: string) => Promise<void>;
const wipeFolder: Wipe = async (url) => {
  execFileSync('chmod', ['-R', 'u+w', url]);
  for (const name of readdirSync(url)) rmSync(join(url, name), { recursive: true, force: true });
};
const wipeS3 =
  (e: S3Endpoint): Wipe =>
  async (url) => {
    const prefix = url.replace(/^s3:\/\/[^/]+\//, '');
    const client = e.client();
    const listed = await client.send(new ListObjectsV2Command({ Bucket: e.bucket, Prefix: `${prefix}/` }));
    const objects = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (objects.length) await client.send(new DeleteObjectsCommand({ Bucket: e.bucket, Delete: { Objects: objects } }));
  };
const kinds: [RemoteKind, Wipe][] = [[localKind(), wipeFolder], ...endpoints.map((e): [RemoteKind, Wipe] => [s3Kind(e), wipeS3(e)])];

/** A repo tracking one file and one directory, with a default remote of `kind`. */
async function repoWithRemote(kind: RemoteKind) {
  const dir = await makeRepo({ 'a.txt': 'hello\n', 'data/x.bin': randomBytes(3000), 'data/y.bin': randomBytes(4000) });
  const run = runner(kind);
  expectExit(await run(dir, 'add', 'a.txt', 'data'), 0);
  const remote = await addRemote(kind, dir);
  return { dir, run, remote };
}

describe.each(kinds.map(([kind, wipe]) => ({ label: kind.label, kind, wipe })))('push --verify with $label', ({ kind, wipe }) => {
  it('re-uploads what the remote lost, which a plain push (trusting its index) does not see', async () => {
    const { dir, run, remote } = await repoWithRemote(kind);
    const first = json(expectExit(await run(dir, 'push', '--json'), 0));
    expect(first.uploaded).toBe(4);
    // Unchanged data: the index answers, no request is made.
    const again = json(expectExit(await run(dir, 'push', '--json'), 0));
    expect(again).toMatchObject({ uploaded: 0, present: 4, query: { strategy: 'index', requests: 0 } });

    await wipe(remote.url);
    expect((await remote.keys()).size).toBe(0);
    // A fresh index is trusted (that is what keeps push of unchanged data fast)...
    expect(json(expectExit(await run(dir, 'push', '--json'), 0)).uploaded).toBe(0);
    // ...--verify asks the remote and sends what it lacks.
    const verified = json(expectExit(await run(dir, 'push', '--verify', '--json'), 0));
    expect(verified).toMatchObject({ uploaded: 4, present: 0 });
    expect((await remote.keys()).size).toBe(4);
  });
});

describe('the remote index', () => {
  it('is trusted only for index_max_age days: an older record is checked again', async () => {
    const kind = localKind();
    const { dir, run, remote } = await repoWithRemote(kind);
    expectExit(await run(dir, 'push'), 0);
    await wipeFolder(remote.url);
    // About 0.1 s.
    expectExit(await run(dir, 'remote', 'modify', 'store', 'index_max_age', '0.000001'), 0);
    await new Promise((r) => setTimeout(r, 300));
    const r = json(expectExit(await run(dir, 'push', '--json'), 0));
    expect(r.uploaded).toBe(4);
    expect((await remote.keys()).size).toBe(4);
  });

  it('tells the user to push with --verify after a corrupt remote object', async () => {
    const kind = localKind();
    const { dir, run, remote } = await repoWithRemote(kind);
    expectExit(await run(dir, 'push'), 0);
    const hash = readFileSync(join(dir, 'a.txt.mlo'), 'utf8').match(/hash: (\w+)/)![1];
    await remote.write(`${hash.slice(0, 2)}/${hash.slice(2)}`, Buffer.from('HELLO\n'));
    const clone = await makeRepo();
    for (const f of ['a.txt.mlo', '.mlo/config.yaml']) writeFileSync(join(clone, f), readFileSync(join(dir, f)));
    const bad = json(expectExit(await run(clone, 'pull', '--json'), 1));
    expect(bad.error.code).toBe('MLO_CORRUPT_REMOTE_OBJECT');
    expect(bad.error.hint).toContain('mlo push --verify');
  });
});

describe('credentials in the committed config', () => {
  it('are refused when the config is loaded, naming the file and the key', async () => {
    const dir = await makeRepo({ 'a.txt': 'x\n' });
    expectExit(await mlo(dir, 'remote', 'add', '-d', 'store', 's3://bucket/x'), 0);
    for (const key of ['secret_access_key', 'access_key_id', 'session_token']) {
      const file = join(dir, '.mlo/config.yaml');
      const clean = readFileSync(file, 'utf8');
      writeFileSync(file, clean.replace('url: s3://bucket/x', `url: s3://bucket/x\n    ${key}: LEAKED`));
      const r = json(expectExit(await mlo(dir, 'status', '--json'), 1));
      expect(r.error.code).toBe('MLO_SECRET_IN_SHARED_CONFIG');
      expect(r.error.message).toContain('.mlo/config.yaml');
      expect(r.error.message).toContain(key);
      expect(r.error.message).not.toContain('LEAKED');
      expect(r.error.hint).toContain(`mlo remote modify --local store ${key}`);
      expect(r.error.hint).toMatch(/rotate/);
      writeFileSync(file, clean);
    }
    expectExit(await mlo(dir, 'status'), 0);
  });

  it('go to .mlo/config.local.yaml, readable by its owner only', async () => {
    const dir = await makeRepo();
    expectExit(await mlo(dir, 'remote', 'add', 'store', 's3://bucket/x'), 0);
    expectExit(await mlo(dir, 'remote', 'modify', '--local', 'store', 'secret_access_key', 'SECRET'), 0);
    expect(statSync(join(dir, '.mlo/config.local.yaml')).mode & 0o777).toBe(0o600);
    // A file that was 0644 before is tightened on the next write.
    chmodSync(join(dir, '.mlo/config.local.yaml'), 0o644);
    expectExit(await mlo(dir, 'remote', 'modify', '--local', 'store', 'access_key_id', 'AKIA'), 0);
    expect(statSync(join(dir, '.mlo/config.local.yaml')).mode & 0o777).toBe(0o600);
  });
});

describe('the default remote of a remote added with --local', () => {
  it('stays in config.local.yaml, and remote rm clears it', async () => {
    const dir = await makeRepo();
    expectExit(await mlo(dir, 'remote', 'add', 'team', '../team'), 0);
    expectExit(await mlo(dir, 'remote', 'default', 'team'), 0);
    expectExit(await mlo(dir, 'remote', 'add', '--local', 'priv', '../priv'), 0);
    expect(json(expectExit(await mlo(dir, 'remote', 'default', 'priv', '--json'), 0))).toEqual({ default: 'priv' });
    const shared = readFileSync(join(dir, '.mlo/config.yaml'), 'utf8');
    expect(shared).not.toContain('priv');
    expect(shared).toMatch(/core:\n {2}remote: team/);
    expect(readFileSync(join(dir, '.mlo/config.local.yaml'), 'utf8')).toMatch(/core:\n {2}remote: priv/);

    expectExit(await mlo(dir, 'remote', 'rm', 'priv'), 0);
    expect(json(expectExit(await mlo(dir, 'remote', 'default', '--json'), 0))).toEqual({ default: 'team' });
  });

  it('remote rm works when the shared file names a local-only remote as the default (written by an older mlo)', async () => {
    const dir = await makeRepo();
    expectExit(await mlo(dir, 'remote', 'add', '--local', 'priv', '../priv'), 0);
    const file = join(dir, '.mlo/config.yaml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\ncore:\n  remote: priv\n`);
    expectExit(await mlo(dir, 'remote', 'rm', 'priv'), 0);
    expect(readFileSync(file, 'utf8')).not.toContain('priv');
    expect(json(expectExit(await mlo(dir, 'remote', 'default', '--json'), 0))).toEqual({ default: null });
    expectExit(await mlo(dir, 'status'), 0);
  });
});

describe('gc --cloud and directories whose manifest is gone', () => {
  it('refuses to delete (exit 1) unless --force', async () => {
    const kind = localKind();
    const { dir, run, remote } = await repoWithRemote(kind);
    expectExit(await run(dir, 'push'), 0);
    const manifest = [...(await remote.keys()).keys()].find((k) => k.endsWith('.dir'))!;
    const dirHash = manifest.replace('/', '').replace(/\.dir$/, '');
    // Gone from the cache and the remote.
    execFileSync('chmod', ['-R', 'u+w', join(dir, '.mlo/cache'), remote.url]);
    rmSync(join(dir, '.mlo/cache', manifest));
    rmSync(join(remote.url, manifest));
    const before = await remote.keys();

    const refused = json(expectExit(await run(dir, 'gc', '--cloud', '-w', '--json'), 1));
    expect(refused.error.code).toBe('MLO_UNKNOWN_MANIFEST');
    expect(refused.error.message).toContain('data');
    expect(refused.error.message).toContain(dirHash);
    expect(refused.error.hint).toContain('--force');
    expect(await remote.keys()).toEqual(before);

    // --dry only reports.
    const dry = json(expectExit(await run(dir, 'gc', '--cloud', '-w', '--dry', '--json'), 0));
    expect(dry.unknownDirectories).toEqual([{ hash: expect.stringContaining(dirHash.slice(0, 20)), path: 'data' }]);
    expect(await remote.keys()).toEqual(before);

    const forced = json(expectExit(await run(dir, 'gc', '--cloud', '-w', '--force', '--json'), 0));
    expect(forced.removed).toHaveLength(2);
    expect((await remote.keys()).size).toBe(1);
  });
});

describe('folder remotes that cannot be used', () => {
  const bugHint = /bug in mlo/;

  it('a folder that cannot be created (/proc) fails at once, never hangs', async () => {
    const dir = await makeRepo({ 'a.txt': 'x\n' });
    expectExit(await mlo(dir, 'add', 'a.txt'), 0);
    expectExit(await mlo(dir, 'remote', 'add', '-d', 'ro', '/proc/nope'), 0);
    const started = Date.now();
    const r = expectExit(await mlo(dir, 'push'), 1);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.stderr).toMatch(/remote folder \/proc\/nope cannot be created/);
    expect(r.stderr).not.toMatch(bugHint);
  }, 30_000);

  it('a dangling symlink as the folder is a clear error', async () => {
    const dir = await makeRepo({ 'a.txt': 'x\n' });
    expectExit(await mlo(dir, 'add', 'a.txt'), 0);
    const link = join(tempDir('mlo-link-'), 'store');
    symlinkSync('/nonexistent/mlo-target', link);
    expectExit(await mlo(dir, 'remote', 'add', '-d', 'dg', link), 0);
    const r = json(expectExit(await mlo(dir, 'push', '--json'), 1));
    expect(r.error.code).toBe('MLO_REMOTE_UNAVAILABLE');
    expect(r.error.message).toContain(`remote folder ${link} cannot be created`);
  });

  /** A small tmpfs (root only; skipped elsewhere). */
  function tinyDisk(options = 'size=64k'): string | undefined {
    const at = mkdtempSync(join(tmpdir(), 'mlo-disk-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', at], { stdio: 'ignore' });
    } catch {
      rmSync(at, { recursive: true, force: true });
      return undefined;
    }
    onTestFinished(() => {
      execFileSync('umount', [at]);
      rmSync(at, { recursive: true, force: true });
    });
    return at;
  }
  const canMount = (() => {
    if (process.getuid?.() !== 0) return false;
    const at = mkdtempSync(join(tmpdir(), 'mlo-disk-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', at], { stdio: 'ignore' });
      execFileSync('umount', [at]);
      return true;
    } catch {
      return false;
    } finally {
      rmSync(at, { recursive: true, force: true });
    }
  })();

  it.skipIf(!canMount)('a full remote disk, a read-only one and a full cache disk are clear errors', async () => {
    const dir = await makeRepo({ 'big.bin': randomBytes(200_000), 'a.txt': 'x\n' });
    expectExit(await mlo(dir, 'add', 'big.bin', 'a.txt'), 0);

    const full = tinyDisk()!;
    expectExit(await mlo(dir, 'remote', 'add', 'full', join(full, 'store')), 0);
    const r = json(expectExit(await mlo(dir, 'push', '-r', 'full', '--json'), 1));
    expect(r.error.code).toBe('MLO_REMOTE_DISK_FULL');
    expect(r.error.message).toContain("no space left on the remote folder's disk");
    expect(readdirSync(join(full, 'store'), { recursive: true }).some((n) => String(n).includes('.mlo-tmp-'))).toBe(false);

    const ro = tinyDisk('ro,size=64k')!;
    expectExit(await mlo(dir, 'remote', 'add', 'ro', join(ro, 'store')), 0);
    const w = json(expectExit(await mlo(dir, 'push', '-r', 'ro', '--json'), 1));
    expect(w.error.code).toBe('MLO_REMOTE_NOT_WRITABLE');
    expect(w.error.message).toContain(`remote folder ${join(ro, 'store')} is not writable`);

    // Pull into a cache on a full disk.
    const good = join(tempDir('mlo-remote-'), 'store');
    expectExit(await mlo(dir, 'remote', 'add', '-d', 'good', good), 0);
    expectExit(await mlo(dir, 'push'), 0);
    const clone = await makeRepo();
    for (const f of ['big.bin.mlo', 'a.txt.mlo', '.mlo/config.yaml']) writeFileSync(join(clone, f), readFileSync(join(dir, f)));
    const cache = join(tinyDisk()!, 'cache');
    mkdirSync(cache);
    writeFileSync(join(clone, '.mlo/config.local.yaml'), `cache:\n  dir: ${cache}\n`);
    const p = expectExit(await mlo(clone, 'pull'), 1);
    expect(p.stderr).toMatch(/no space left on the cache's disk/);
    expect(p.stderr).not.toMatch(bugHint);
  });
});

describe('stale temp files on a folder remote', () => {
  it('gc --cloud removes .mlo-tmp-* older than an hour (counted under --dry) and keeps fresh ones', async () => {
    const kind = localKind();
    const { dir, run, remote } = await repoWithRemote(kind);
    expectExit(await run(dir, 'push'), 0);
    const shard = readdirSync(remote.url)[0];
    const stale = join(remote.url, shard, '.mlo-tmp-123-abc');
    const fresh = join(remote.url, shard, '.mlo-tmp-456-def');
    writeFileSync(stale, 'half an object');
    writeFileSync(fresh, 'an upload in progress');
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    utimesSync(stale, old, old);

    const dry = json(expectExit(await run(dir, 'gc', '--cloud', '-w', '--dry', '--json'), 0));
    expect(dry.staleTemps).toBe(1);
    expect(existsSync(stale)).toBe(true);
    const r = expectExit(await run(dir, 'gc', '--cloud', '-w'), 0);
    expect(r.stdout).toMatch(/removed 1 stale temp file/);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect((await remote.keys()).size).toBe(5); // 4 objects and the fresh temp file
  });
});
