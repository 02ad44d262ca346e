import { chmodSync, readFileSync, statSync, writeFileSync, rmSync, mkdirSync, symlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, makeRepo, mlo, read, tempDir } from '../helpers.js';

describe('mlo init', () => {
  it('creates .mlo with a committed config and ignores cache and tmp; is harmless twice', async () => {
    const dir = await makeRepo();
    expect(read(dir, '.mlo/.gitignore')).toContain('/cache/');
    expect(read(dir, '.mlo/config.yaml')).toContain('schema: 1');
    const again = await mlo(dir, 'init', '--json');
    expect(again.exitCode).toBe(0);
    expect(json(again)).toMatchObject({ created: false });
  });

  it('refuses outside a git work tree unless --no-scm', async () => {
    const dir = tempDir();
    const r = await mlo(dir, 'init');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('is not inside a git work tree');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect((await mlo(dir, 'init', '--no-scm')).exitCode).toBe(0);
  });
});

describe('mlo add / status / checkout', () => {
  it('tracks a file: pointer, cache object (read-only), .gitignore', async () => {
    const dir = await makeRepo({ 'data.csv': 'a,b\n1,2\n' });
    const r = await mlo(dir, 'add', 'data.csv', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const [added] = json(r);
    expect(added).toMatchObject({ path: 'data.csv', pointerFile: 'data.csv.mlo', kind: 'file', size: 8 });
    expect(read(dir, 'data.csv.mlo')).toMatch(/hash: [0-9a-f]{64}\n/);
    expect(read(dir, '.gitignore')).toContain('/data.csv');
    const obj = join(dir, '.mlo/cache', added.hash.slice(0, 2), added.hash.slice(2));
    expect(readFileSync(obj, 'utf8')).toBe('a,b\n1,2\n');
    expect(statSync(obj).mode & 0o222).toBe(0);
  });

  it('an in-place edit of a workspace file never changes the cached object (dvc #799)', async () => {
    const dir = await makeRepo({ 'm.bin': 'original' });
    const [added] = json(await mlo(dir, 'add', 'm.bin', '--json'));
    writeFileSync(join(dir, 'm.bin'), 'EDITED!!');
    const obj = join(dir, '.mlo/cache', added.hash.slice(0, 2), added.hash.slice(2));
    expect(readFileSync(obj, 'utf8')).toBe('original');
    const st = json(await mlo(dir, 'status', '--json'));
    expect(st.entries[0]).toMatchObject({ path: 'm.bin', status: 'modified', inCache: true });
  });

  it('tracks a directory as a manifest and reports added, modified and deleted files', async () => {
    const dir = await makeRepo({ 'data/a.txt': 'a', 'data/sub/b.txt': 'b', 'data/run.sh': '#!/bin/sh\n' });
    chmodSync(join(dir, 'data/run.sh'), 0o755);
    const [added] = json(await mlo(dir, 'add', 'data', '--json'));
    expect(added).toMatchObject({ kind: 'dir', files: 3 });
    expect(added.hash).toMatch(/\.dir$/);
    expect(json(await mlo(dir, 'status', '--json')).clean).toBe(true);

    writeFileSync(join(dir, 'data/a.txt'), 'changed');
    writeFileSync(join(dir, 'data/new.txt'), 'new');
    rmSync(join(dir, 'data/sub/b.txt'));
    const st = json(await mlo(dir, 'status', '--json'));
    expect(st.clean).toBe(false);
    expect(st.entries[0]).toMatchObject({ status: 'modified', added: ['data/new.txt'], modified: ['data/a.txt'], deleted: ['data/sub/b.txt'] });
    const human = await mlo(dir, 'status', '-v');
    expect(human.stdout).toContain('added:    data/new.txt');

    // checkout refuses to lose content that is not in the cache, then --force restores the pointer's version.
    const refused = await mlo(dir, 'checkout');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('not in the cache');
    expect(read(dir, 'data/a.txt')).toBe('changed');
    const forced = json(await mlo(dir, 'checkout', '--force', '--json'));
    expect(forced).toMatchObject({ added: ['data/sub/b.txt'], modified: ['data/a.txt'], deleted: ['data/new.txt'] });
    expect(read(dir, 'data/a.txt')).toBe('a');
    expect(existsSync(join(dir, 'data/new.txt'))).toBe(false);
    expect(statSync(join(dir, 'data/run.sh')).mode & 0o100).toBeTruthy();
  });

  it("commit records edits; checkout after git checkout restores each branch's data", async () => {
    const dir = await makeRepo({ 'data/x.txt': 'v1' });
    await mlo(dir, 'add', 'data');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-qm', 'v1');
    await git(dir, 'checkout', '-qb', 'feature');
    writeFileSync(join(dir, 'data/x.txt'), 'v2');
    writeFileSync(join(dir, 'data/y.txt'), 'only on feature');
    const c = await mlo(dir, 'commit', '--json');
    expect(c.exitCode, c.stderr).toBe(0);
    expect(json(c)[0]).toMatchObject({ changed: true, files: 2 });
    await git(dir, 'commit', '-qam', 'v2');

    await git(dir, 'checkout', '-q', 'main');
    const co = await mlo(dir, 'checkout', '--json');
    expect(co.exitCode, co.stderr).toBe(0);
    expect(read(dir, 'data/x.txt')).toBe('v1');
    expect(existsSync(join(dir, 'data/y.txt'))).toBe(false);
    await git(dir, 'checkout', '-q', 'feature');
    await mlo(dir, 'checkout');
    expect(read(dir, 'data/y.txt')).toBe('only on feature');

    const d = json(await mlo(dir, 'diff', 'main', 'feature', '--json'));
    expect(d.added.map((e: any) => e.path)).toEqual(['data/y.txt']);
    expect(d.modified.map((e: any) => e.path)).toEqual(['data/x.txt']);
    expect(d.deleted).toEqual([]);
  });

  it('adds globs and lists tracked paths', async () => {
    const dir = await makeRepo({ 'a.bin': '1', 'b.bin': '22', 'c.txt': 'x' });
    const r = await mlo(dir, 'add', '*.bin');
    expect(r.exitCode, r.stderr).toBe(0);
    const list = json(await mlo(dir, 'list', '--json'));
    expect(list.map((i: any) => [i.path, i.size])).toEqual([
      ['a.bin', 1],
      ['b.bin', 2],
    ]);
  });

  it('honours .mloignore and skips symlinks inside directories with a warning', async () => {
    const dir = await makeRepo({ 'd/keep.txt': 'k', 'd/skip.log': 'l', '.mloignore': '*.log\n' });
    symlinkSync('/etc/hostname', join(dir, 'd/link'));
    const r = await mlo(dir, 'add', 'd', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r)[0]).toMatchObject({ files: 1, skippedSymlinks: ['link'] });
    expect(r.stderr).toContain('d/link is a symlink and is not tracked');
  });

  it('hardlink mode is opt-in; objects stay read-only so edits fail instead of corrupting', async () => {
    const dir = await makeRepo({ 'big.bin': 'payload' });
    writeFileSync(join(dir, '.mlo/config.local.yaml'), 'cache:\n  type: hardlink\n');
    const [added] = json(await mlo(dir, 'add', 'big.bin', '--json'));
    const obj = join(dir, '.mlo/cache', added.hash.slice(0, 2), added.hash.slice(2));
    expect(statSync(join(dir, 'big.bin')).ino).toBe(statSync(obj).ino);
    expect(statSync(join(dir, 'big.bin')).mode & 0o222).toBe(0);
  });
});

describe('bad input', () => {
  it('names a path outside the repo, a missing path and a git-tracked path', async () => {
    const dir = await makeRepo({ 'tracked.txt': 'in git' }, { commit: true });
    const outside = await mlo(dir, 'add', '/etc/hostname');
    expect(outside.exitCode).toBe(2);
    expect(outside.stderr).toContain('outside the repository');
    const missing = await mlo(dir, 'add', 'nope.csv');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('nope.csv: no such file or directory');
    const inGit = await mlo(dir, 'add', 'tracked.txt');
    expect(inGit.exitCode).toBe(1);
    expect(inGit.stderr).toContain('git rm -r --cached tracked.txt');
  });

  it('not a repository', async () => {
    const dir = tempDir();
    const r = await mlo(dir, 'status');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('not inside an mlo repository');
    expect(r.stderr).toContain('mlo init');
  });

  it('a pointer with invalid YAML or unknown fields names the file and line', async () => {
    const dir = await makeRepo({ 'x.bin': 'x' });
    await mlo(dir, 'add', 'x.bin');
    writeFileSync(join(dir, 'x.bin.mlo'), 'path: x.bin\nhash: [oops\n');
    const bad = await mlo(dir, 'status');
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/x\.bin\.mlo:\d+:\d+: invalid YAML/);
    const text = 'path: x.bin\nhash: ' + 'a'.repeat(64) + '\nalgo: blake3\nsize: 1\ncolour: red\n';
    writeFileSync(join(dir, 'x.bin.mlo'), text);
    const unknown = await mlo(dir, 'status', '--json');
    expect(unknown.exitCode).toBe(1);
    expect(json(unknown).error.message).toMatch(/x\.bin\.mlo:\d+: .*'colour'/);
  });

  it('a pointer with .. or an absolute path is refused and nothing is written outside', async () => {
    const dir = await makeRepo({});
    for (const evil of ['../escape.txt', '/tmp/escape.txt']) {
      writeFileSync(join(dir, 'evil.mlo'), `path: ${evil}\nhash: ${'b'.repeat(64)}\nalgo: blake3\nsize: 1\n`);
      const r = await mlo(dir, 'checkout', '--json');
      expect(r.exitCode).toBe(1);
      expect(json(r).error.message).toContain('relative path inside the repository');
    }
    expect(existsSync(join(dir, '..', 'escape.txt'))).toBe(false);
  });

  it('a manifest entry with .. is refused', async () => {
    const dir = await makeRepo({ 'd/a': 'a' });
    const [added] = json(await mlo(dir, 'add', 'd', '--json'));
    // Write a manifest whose hash matches its (evil) content, and point the pointer at it.
    const { blake3 } = await import('@napi-rs/blake-hash');
    const body = Buffer.from(
      JSON.stringify({ schema: 1, entries: [{ path: '../../pwned', hash: added.hash.replace('.dir', '').replace(/./, 'c'), size: 1 }] }),
    );
    const h = `${blake3(body).toString('hex')}.dir`;
    mkdirSync(join(dir, '.mlo/cache', h.slice(0, 2)), { recursive: true });
    writeFileSync(join(dir, '.mlo/cache', h.slice(0, 2), h.slice(2)), body);
    writeFileSync(join(dir, 'd.mlo'), `path: d\nhash: ${h}\nalgo: blake3\nsize: 1\nfiles: 1\n`);
    const r = await mlo(dir, 'checkout', '--force');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('relative path inside the repository');
    expect(existsSync(join(dir, '..', '..', 'pwned'))).toBe(false);
  });

  it('permission denied names the file', async () => {
    if (process.getuid?.() === 0) {
      // root reads everything; use a directory we cannot list instead of a file we cannot read
    }
    const dir = await makeRepo({ 'secret/a.txt': 'x' });
    chmodSync(join(dir, 'secret'), 0o000);
    try {
      const r = await mlo(dir, 'add', 'secret');
      if (process.getuid?.() === 0) {
        expect(r.exitCode).toBe(0); // root bypasses permissions; nothing to test
      } else {
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toContain('permission denied');
      }
    } finally {
      chmodSync(join(dir, 'secret'), 0o755);
    }
  });

  it('unknown commands and flags are usage errors (exit 2)', async () => {
    const dir = await makeRepo();
    expect((await mlo(dir, 'frobnicate')).exitCode).toBe(2);
    expect((await mlo(dir, 'add', '--bogus', 'x')).exitCode).toBe(2);
    const gc = await mlo(dir, 'gc');
    expect(gc.exitCode).toBe(2);
    expect(gc.stderr).toContain('--workspace');
  });
});

describe('integrity', () => {
  it('fsck reports a corrupt object and checkout never links it', async () => {
    const dir = await makeRepo({ 'f.txt': 'good content' });
    const [added] = json(await mlo(dir, 'add', 'f.txt', '--json'));
    const obj = join(dir, '.mlo/cache', added.hash.slice(0, 2), added.hash.slice(2));
    chmodSync(obj, 0o644);
    writeFileSync(obj, 'evil content');
    const f = await mlo(dir, 'fsck', '--json');
    expect(f.exitCode).toBe(1);
    expect(json(f).result.problems[0]).toMatchObject({ hash: added.hash, problem: 'corrupt', usedBy: 'f.txt' });
    rmSync(join(dir, 'f.txt'));
    const co = await mlo(dir, 'checkout');
    expect(co.exitCode).toBe(1);
    expect(co.stderr).toContain('is corrupt');
    expect(existsSync(join(dir, 'f.txt'))).toBe(false);
  });

  it('fsck reports a truncated object', async () => {
    const dir = await makeRepo({ 'f.bin': Buffer.alloc(5000, 7) });
    const [added] = json(await mlo(dir, 'add', 'f.bin', '--json'));
    const obj = join(dir, '.mlo/cache', added.hash.slice(0, 2), added.hash.slice(2));
    chmodSync(obj, 0o644);
    writeFileSync(obj, Buffer.alloc(100, 7));
    const f = json(await mlo(dir, 'fsck', '--json'));
    expect(f.result.problems[0]).toMatchObject({ problem: 'truncated', size: 100, expectedSize: 5000 });
  });

  it('gc keeps what the chosen revisions reference and frees the rest', async () => {
    const dir = await makeRepo({ 'm.bin': 'version one' });
    await mlo(dir, 'add', 'm.bin');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-qm', 'one');
    writeFileSync(join(dir, 'm.bin'), 'version two');
    await mlo(dir, 'commit');
    const dry = json(await mlo(dir, 'gc', '--workspace', '--dry', '--json'));
    expect(dry.removed).toHaveLength(1);
    const keepAll = json(await mlo(dir, 'gc', '--all-commits', '--json'));
    expect(keepAll.removed).toHaveLength(0);
    const ws = json(await mlo(dir, 'gc', '-w', '--json'));
    expect(ws).toMatchObject({ bytes: 11, dry: false });
    expect(json(await mlo(dir, 'status', '--json')).clean).toBe(true);
  });

  it('a second process waits for the repository lock, then names the holder', async () => {
    const dir = await makeRepo({ 'a.txt': 'a' });
    mkdirSync(join(dir, '.mlo/tmp'), { recursive: true });
    // A live process (this test runner) holds the lock.
    writeFileSync(join(dir, '.mlo/tmp/lock'), JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), command: 'add', since: 'now' }));
    const r = await mlo(dir, 'add', 'a.txt', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).error).toMatchObject({ code: 'MLO_LOCKED' });
    expect(json(r).error.message).toContain(`process ${process.pid}`);
    // A lock left by a dead process is taken over.
    writeFileSync(
      join(dir, '.mlo/tmp/lock'),
      JSON.stringify({ pid: 2 ** 22 + 12345, host: (await import('node:os')).hostname(), command: 'add', since: 'then' }),
    );
    expect((await mlo(dir, 'add', 'a.txt')).exitCode).toBe(0);
  }, 30_000);
});

describe('doctor', () => {
  it('reports versions and the link type that works here', async () => {
    const dir = await makeRepo();
    const r = json(await mlo(dir, 'doctor', '--json'));
    expect(r.mlo).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.repo.supportedLinkTypes).toContain('copy');
    expect(['reflink', 'copy']).toContain(r.repo.workingLinkType);
  });
});

describe('state database', () => {
  it('remembers hashed workspace files and verified objects, so nothing is hashed twice', async () => {
    const dir = await makeRepo({ 'd/a.txt': 'a', 'd/b.txt': 'b', 'f.bin': 'f' });
    // Files written within RACY_MS of hashing are not trusted; make them older than that.
    await new Promise((r) => setTimeout(r, 100));
    expect((await mlo(dir, 'add', 'd', 'f.bin')).exitCode).toBe(0);
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(dir, '.mlo/tmp/state.db'), { readonly: true });
    const paths = (db.prepare('SELECT path FROM stat_hashes ORDER BY path').all() as { path: string }[]).map((r) => r.path);
    db.close();
    expect(paths.filter((p) => !p.startsWith('obj:'))).toEqual(['d/a.txt', 'd/b.txt', 'f.bin']);
    // One verified-object row per distinct file object, plus the directory manifest is not needed.
    expect(paths.filter((p) => p.startsWith('obj:')).length).toBeGreaterThanOrEqual(3);
  });
});
