// Paths mlo must refuse or skip (.git, .mlo, beyond a symlink, overlapping records), targets that
// name nothing, and caches that may be damaged (state database, verified objects): found by an audit.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MLO_BIN, git, json, makeRepo, mlo, mloWith, tempDir } from '../helpers.js';

const objectFile = (dir: string, hash: string) => join(dir, '.mlo/cache', hash.slice(0, 2), hash.slice(2));

describe('paths mlo refuses', () => {
  it('adds a root file whose name starts with two dots', async () => {
    const dir = await makeRepo({ '..data': 'x' });
    const r = await mlo(dir, 'add', '..data');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(join(dir, '..data.mlo'))).toBe(true);
  });

  it('refuses paths beyond a symbolic link, and writes nothing through it', async () => {
    const dir = await makeRepo();
    const outside = tempDir();
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    symlinkSync(outside, join(dir, 'evil'));
    const r = await mlo(dir, 'add', 'evil/secret.txt');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/beyond a symbolic link \(evil\)/);
    expect(existsSync(join(outside, 'secret.txt.mlo'))).toBe(false);
    expect(existsSync(join(outside, '.gitignore'))).toBe(false);
  });

  it('refuses .git as a target and as a pointer path, and .mlo/ as a pointer path', async () => {
    const dir = await makeRepo({ 'z.txt': 'zz\n' });
    const add = await mlo(dir, 'add', '.git/config');
    expect(add.exitCode).toBe(2);
    expect(add.stderr).toContain('inside a .git folder');
    const [z] = json(await mlo(dir, 'add', 'z.txt', '--json'));
    const config = readFileSync(join(dir, '.git/config'), 'utf8');
    for (const [path, message] of [
      ['.git/config', /no \.git folder/],
      ['sub/.GIT/hooks/x', /no \.git folder/],
      ['.mlo/tmp/newfile', /points into \.mlo\//],
    ] as const) {
      writeFileSync(join(dir, 'evil.mlo'), `path: ${path}\nhash: ${z.hash}\nalgo: blake3\nsize: 3\n`);
      const r = await mlo(dir, 'checkout', '--force');
      expect(r.exitCode, `${path}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect(readFileSync(join(dir, '.git/config'), 'utf8')).toBe(config);
    expect(existsSync(join(dir, '.mlo/tmp/newfile'))).toBe(false);
  });

  it('skips a nested .git folder inside an added directory', async () => {
    const dir = await makeRepo({ 'data/a.txt': 'a', 'data/vendor/.git/config': '[core]', 'data/vendor/b.txt': 'b' });
    const [added] = json(await mlo(dir, 'add', 'data', '--json'));
    expect(added.files).toBe(2);
    expect((await mlo(dir, 'status', '--json')).exitCode).toBe(0);
    expect(json(await mlo(dir, 'status', '--json')).clean).toBe(true);
  });

  it('refuses two pointers for one path, or one inside another, naming both', async () => {
    const dir = await makeRepo({ 'd/c.txt': 'c', 'b.txt': 'b' });
    expect((await mlo(dir, 'add', 'd', 'b.txt')).exitCode).toBe(0);
    writeFileSync(join(dir, 'dup.mlo'), readFileSync(join(dir, 'b.txt.mlo')));
    const dup = await mlo(dir, 'list');
    expect(dup.exitCode).toBe(1);
    expect(dup.stderr).toMatch(/b\.txt is tracked by (b\.txt\.mlo and dup\.mlo|dup\.mlo and b\.txt\.mlo)/);
    rmSync(join(dir, 'dup.mlo'));
    const b = readFileSync(join(dir, 'b.txt.mlo'), 'utf8');
    writeFileSync(join(dir, 'inner.mlo'), b.replace('path: b.txt', 'path: d/c.txt'));
    const inner = await mlo(dir, 'checkout');
    expect(inner.exitCode).toBe(1);
    expect(inner.stderr).toContain('d/c.txt is tracked by inner.mlo inside d, tracked by d.mlo');
    expect(readFileSync(join(dir, 'd/c.txt'), 'utf8')).toBe('c');
  });

  it('says a target inside a tracked directory that its manifest does not list is not tracked', async () => {
    const dir = await makeRepo({ 'd/a.txt': 'a', 'd/sub/b.txt': 'b' });
    await mlo(dir, 'add', 'd');
    for (const args of [
      ['checkout', 'd/nonexist'],
      ['status', 'd/zzz'],
    ]) {
      const r = await mlo(dir, ...args);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/is not in the tracked directory d/);
    }
    expect((await mlo(join(dir, 'd'), 'status', 'zzz')).exitCode).toBe(1);
    expect((await mlo(dir, 'status', 'd/sub')).exitCode).toBe(0);
    expect((await mlo(dir, 'status', 'd/sub/b.txt')).exitCode).toBe(0);
  });
});

describe('damaged caches', () => {
  it('rebuilds a state database that is not a database; names one that cannot be opened', async () => {
    const dir = await makeRepo({ 'f.txt': 'f' });
    await mlo(dir, 'add', 'f.txt');
    const db = join(dir, '.mlo/tmp/state.db');
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    writeFileSync(db, 'garbage, not SQLite');
    writeFileSync(join(dir, 'f.txt'), 'changed');
    const st = await mlo(dir, 'status', '--json');
    expect(st.exitCode, st.stderr).toBe(0);
    expect(json(st).entries[0].status).toBe('modified');
    rmSync(db, { force: true });
    mkdirSync(db);
    const r = await mlo(dir, 'commit', 'f.txt');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('state.db');
    expect(r.stderr).toContain('delete it');
  });

  it('re-verifies an object changed behind mlo even when its mtime was restored', async () => {
    const dir = await makeRepo({ 'd/f.txt': 'good content' });
    const [added] = json(await mlo(dir, 'add', 'd', '--json'));
    expect(added.files).toBe(1);
    // One checkout records the object as verified.
    rmSync(join(dir, 'd/f.txt'));
    expect((await mlo(dir, 'checkout')).exitCode).toBe(0);
    const manifest = JSON.parse(readFileSync(objectFile(dir, added.hash)).toString('utf8')) as { entries?: { hash: string }[] } | { hash: string }[];
    const entries = Array.isArray(manifest) ? manifest : (manifest.entries ?? []);
    const obj = objectFile(dir, entries[0].hash);
    // Same size, and the mtime restored to the nanosecond (touch -r), as a careless tool would.
    const ref = join(tempDir(), 'ref');
    execFileSync('cp', ['-p', obj, ref]);
    chmodSync(obj, 0o644);
    writeFileSync(obj, 'evil content');
    execFileSync('touch', ['-r', ref, obj]);
    chmodSync(obj, 0o444);
    expect(statSync(obj).mtimeMs).toBe(statSync(ref).mtimeMs);
    rmSync(join(dir, 'd/f.txt'));
    const co = await mlo(dir, 'checkout');
    expect(co.exitCode).toBe(1);
    expect(co.stderr).toContain('is corrupt');
    expect(existsSync(join(dir, 'd/f.txt'))).toBe(false);
  });

  it('gc over all commits gets past a pointer that no longer parses, keeping what it names', async () => {
    const dir = await makeRepo({ 'b.txt': 'version one' });
    const [one] = json(await mlo(dir, 'add', 'b.txt', '--json'));
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-qm', 'one');
    writeFileSync(join(dir, 'b.txt.mlo'), `${readFileSync(join(dir, 'b.txt.mlo'), 'utf8')}bogus: 1\n`);
    await git(dir, 'commit', '-qam', 'bad pointer');
    rmSync(join(dir, 'b.txt.mlo'));
    writeFileSync(join(dir, 'b.txt'), 'version two');
    expect((await mlo(dir, 'add', 'b.txt')).exitCode).toBe(0);
    await git(dir, 'commit', '-qam', 'two');
    const gc = await mlo(dir, 'gc', '--all-commits', '--json');
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(existsSync(objectFile(dir, one.hash))).toBe(true);
    // diff still reports the broken pointer rather than guessing.
    expect((await mlo(dir, 'diff', 'HEAD~2', 'HEAD~1')).exitCode).toBe(1);
  });
});

describe('output to a pipe that closes early', () => {
  it('stops quietly, with colour on or off', () => {
    const dir = tempDir();
    execFileSync('git', ['init', '-q'], { cwd: dir });
    execFileSync(process.execPath, [MLO_BIN, 'init', '-q'], { cwd: dir });
    for (let i = 0; i < 3000; i++) {
      if (i === 0) mkdirSync(join(dir, 'd'));
      writeFileSync(join(dir, 'd', `f${i}`), `${i}`);
    }
    execFileSync(process.execPath, [MLO_BIN, 'add', '-q', 'd'], { cwd: dir });
    for (let i = 0; i < 3000; i++) writeFileSync(join(dir, 'd', `f${i}`), `x${i}`);
    for (const color of ['FORCE_COLOR=1', 'NO_COLOR=1']) {
      const out = execFileSync('sh', ['-c', `${color} "${process.execPath}" "${MLO_BIN}" status --verbose 2>err.txt | head -1; cat err.txt`], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(out).toMatch(/modified:/);
      expect(out).not.toMatch(/EPIPE|Error|at /);
    }
  });
});

describe('leftovers and messages', () => {
  it('takes over a lock file left empty by a process killed between creating and writing it', async () => {
    const dir = await makeRepo({ 'f.txt': 'f' });
    const lock = join(dir, '.mlo/tmp/lock');
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 10_000);
    utimesSync(lock, old, old);
    const r = await mlo(dir, 'add', 'f.txt');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });

  it('waits for a fresh unreadable lock (its owner may be writing it), then names the file', async () => {
    const dir = await makeRepo({ 'f.txt': 'f' });
    writeFileSync(join(dir, '.mlo/tmp/lock'), '');
    const r = await mloWith({ cwd: dir, env: { MLO_LOCK_TIMEOUT: '0.5' } }, 'add', 'f.txt');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('locked by another process');
  });

  it('init is harmless twice in a --no-scm repository; -C must name a folder', async () => {
    const dir = tempDir();
    expect((await mlo(dir, 'init', '--no-scm')).exitCode).toBe(0);
    const again = await mlo(dir, 'init', '--json');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(json(again)).toMatchObject({ created: false });
    const missing = join(dir, 'nope');
    const r = await mlo(dir, '-C', missing, 'init', '--no-scm');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`-C ${missing}: no such directory`);
    expect(existsSync(missing)).toBe(false);
  });

  it('an invalid YAML message ends with what is wrong, not a cut-off location', async () => {
    const dir = await makeRepo({ 'a.txt': 'a' });
    await mlo(dir, 'add', 'a.txt');
    writeFileSync(join(dir, 'a.txt.mlo'), 'path: a.txt\nhash: [unclosed\nalgo: blake3\n');
    const r = await mlo(dir, 'status');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: a\.txt\.mlo:3:1: invalid YAML: .*end with a \]\n/);
  });

  it('a usage error under --json is one JSON document with a hint, and nothing on stderr', async () => {
    const dir = await makeRepo();
    for (const args of [
      ['statuss', '--json'],
      ['add', '--bogus', '--json'],
    ]) {
      const r = await mlo(dir, ...args);
      expect(r.exitCode).toBe(2);
      expect(json(r).error).toMatchObject({ code: 'MLO_USAGE', hint: 'run with --help for usage' });
      expect(r.stderr).toBe('');
    }
  });
});
