// `mlo checkout` never loses data it cannot restore: it does not write, create folders or delete
// through a symlink, and files that `.mloignore` hides from the walk are still the user's.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFolderMaker, createFolderProbe } from '../../src/core/data/workspace/folders.js';
import { git, json, makeRepo, mlo, read, tempDir } from '../helpers.js';

async function ok(dir: string, ...args: string[]) {
  const r = await mlo(dir, ...args);
  expect(r.exitCode, `mlo ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

async function commitAll(dir: string, message: string) {
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', message);
}

describe('checkout never writes through a symlink', () => {
  it('refuses a symlinked folder inside a tracked directory; --force replaces the link, not its target', async () => {
    const dir = await makeRepo({ 'data/sub/d.txt': 'deep', 'data/top.txt': 'top' });
    await ok(dir, 'add', 'data');
    const outside = tempDir();
    writeFileSync(join(outside, 'd.txt'), 'OUTSIDE DATA');
    rmSync(join(dir, 'data/sub'), { recursive: true });
    symlinkSync(outside, join(dir, 'data/sub'));

    const refused = await mlo(dir, 'checkout', '--json');
    expect(refused.exitCode).toBe(1);
    expect(json(refused).error).toMatchObject({ code: 'MLO_SYMLINK_IN_PATH' });
    expect(json(refused).error.message).toContain('data/sub');
    expect(json(refused).error.hint).toContain('--force');
    expect(readFileSync(join(outside, 'd.txt'), 'utf8')).toBe('OUTSIDE DATA');
    expect(lstatSync(join(dir, 'data/sub')).isSymbolicLink()).toBe(true);
    // --dry refuses too: it reports what a real run would do.
    expect((await mlo(dir, 'checkout', '--dry')).exitCode).toBe(1);

    const forced = json(await ok(dir, 'checkout', '--force', '--json'));
    expect(forced.added).toEqual(['data/sub/d.txt']);
    expect(lstatSync(join(dir, 'data/sub')).isDirectory()).toBe(true);
    expect(read(dir, 'data/sub/d.txt')).toBe('deep');
    expect(readFileSync(join(outside, 'd.txt'), 'utf8')).toBe('OUTSIDE DATA');
    expect(readdirSync(outside)).toEqual(['d.txt']);
    expect(json(await ok(dir, 'status', '--json')).clean).toBe(true);
  });

  it('creates no folder through a symlink deeper on the way', async () => {
    const dir = await makeRepo({ 'data/a/b/c/x.txt': 'x' });
    await ok(dir, 'add', 'data');
    const outside = tempDir();
    rmSync(join(dir, 'data/a'), { recursive: true });
    symlinkSync(outside, join(dir, 'data/a'));

    const refused = await mlo(dir, 'checkout');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('data/a is a symlink');
    expect(readdirSync(outside)).toEqual([]);

    await ok(dir, 'checkout', '--force');
    expect(readdirSync(outside)).toEqual([]);
    expect(read(dir, 'data/a/b/c/x.txt')).toBe('x');
  });

  it('refuses when the tracked directory itself is a symlink', async () => {
    const dir = await makeRepo({ 'data/x.txt': 'x' });
    await ok(dir, 'add', 'data');
    const outside = tempDir();
    writeFileSync(join(outside, 'x.txt'), 'OUTSIDE');
    rmSync(join(dir, 'data'), { recursive: true });
    symlinkSync(outside, join(dir, 'data'));

    const refused = await mlo(dir, 'checkout', '--json');
    expect(refused.exitCode).toBe(1);
    expect(json(refused).error).toMatchObject({ code: 'MLO_SYMLINK_IN_PATH' });
    expect(json(refused).error.message).toMatch(/^data is a symlink/);
    expect(readFileSync(join(outside, 'x.txt'), 'utf8')).toBe('OUTSIDE');

    await ok(dir, 'checkout', '--force');
    expect(lstatSync(join(dir, 'data')).isDirectory()).toBe(true);
    expect(read(dir, 'data/x.txt')).toBe('x');
    expect(readFileSync(join(outside, 'x.txt'), 'utf8')).toBe('OUTSIDE');
  });

  it('a cloned repository with a committed symlink and a pointer behind it cannot write outside', async () => {
    const dir = await makeRepo({ 'p.txt': 'payload' });
    const [added] = json(await ok(dir, 'add', 'p.txt', '--json'));
    rmSync(join(dir, 'p.txt'));
    rmSync(join(dir, 'p.txt.mlo'));
    const victim = tempDir();
    symlinkSync(victim, join(dir, 'evil'));
    writeFileSync(join(dir, 'evil.mlo'), `path: evil/pwned.txt\nhash: ${added.hash}\nalgo: blake3\nsize: 7\n`);
    await commitAll(dir, 'evil');

    const refused = await mlo(dir, 'checkout');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('evil is a symlink');
    expect(readdirSync(victim)).toEqual([]);

    await ok(dir, 'checkout', '--force');
    expect(readdirSync(victim)).toEqual([]);
    expect(lstatSync(join(dir, 'evil')).isDirectory()).toBe(true);
    expect(read(dir, 'evil/pwned.txt')).toBe('payload');
  });

  it("a symlink where a tracked file belongs is the user's: refused, and --force replaces only the link", async () => {
    const dir = await makeRepo({ 'data/a.txt': 'a', 'data/b.txt': 'b' });
    await ok(dir, 'add', 'data');
    const outside = tempDir();
    writeFileSync(join(outside, 'target.txt'), 'OUTSIDE');
    rmSync(join(dir, 'data/a.txt'));
    symlinkSync(join(outside, 'target.txt'), join(dir, 'data/a.txt'));

    const refused = await mlo(dir, 'checkout');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('data/a.txt is a symlink');

    await ok(dir, 'checkout', '--force');
    expect(lstatSync(join(dir, 'data/a.txt')).isFile()).toBe(true);
    expect(read(dir, 'data/a.txt')).toBe('a');
    expect(readFileSync(join(outside, 'target.txt'), 'utf8')).toBe('OUTSIDE');
  });

  it('folder helpers: the probe reports the topmost link; the maker never creates folders through one', () => {
    const root = tempDir();
    const outside = tempDir();
    mkdirSync(join(root, 'a'));
    symlinkSync(outside, join(root, 'a/link'));
    writeFileSync(join(root, 'a/file'), 'f');
    const probe = createFolderProbe(root);
    expect(probe('a')).toEqual({ kind: 'dir' });
    expect(probe('a/link/x/y')).toEqual({ kind: 'symlink', at: 'a/link' });
    expect(probe('a/file/x')).toEqual({ kind: 'other', at: 'a/file' });
    expect(probe('a/new/x')).toEqual({ kind: 'absent' });

    const maker = createFolderMaker(root);
    maker.ensure(join(root, 'a/new/deeper'));
    expect(statSync(join(root, 'a/new/deeper')).isDirectory()).toBe(true);
    expect(() => maker.ensure(join(root, 'a/link/x'))).toThrow(expect.objectContaining({ code: 'MLO_SYMLINK_IN_PATH' }));
    expect(() => maker.ensure(join(root, 'a/file/x'))).toThrow(expect.objectContaining({ code: 'MLO_NOT_A_FOLDER' }));
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('checkout and files that .mloignore hides', () => {
  async function trackedWithIgnoredFile() {
    const dir = await makeRepo({ 'd/a.csv': 'orig', 'd/b.csv': 'b' });
    await ok(dir, 'add', 'd');
    await commitAll(dir, 'd');
    writeFileSync(join(dir, '.mloignore'), `${read(dir, '.mloignore')}\na.csv\n`);
    return dir;
  }

  it('an ignored file with an edit the cache lacks is not overwritten without --force', async () => {
    const dir = await trackedWithIgnoredFile();
    writeFileSync(join(dir, 'd/a.csv'), 'USER EDIT not in cache');
    const refused = await mlo(dir, 'checkout', '--json');
    expect(refused.exitCode).toBe(1);
    expect(json(refused).error).toMatchObject({ code: 'MLO_WOULD_LOSE_DATA' });
    expect(json(refused).error.message).toContain('d/a.csv');
    expect(read(dir, 'd/a.csv')).toBe('USER EDIT not in cache');

    const forced = json(await ok(dir, 'checkout', '--force', '--json'));
    expect(forced.modified).toEqual(['d/a.csv']);
    expect(read(dir, 'd/a.csv')).toBe('orig');
  });

  it('an ignored file that already holds the wanted content is left alone', async () => {
    const dir = await trackedWithIgnoredFile();
    const before = statSync(join(dir, 'd/a.csv')).ino;
    const r = json(await ok(dir, 'checkout', '--json'));
    expect(r).toMatchObject({ added: [], modified: [], deleted: [], unchanged: 2 });
    expect(statSync(join(dir, 'd/a.csv')).ino).toBe(before);
  });

  it('an ignored file whose content the cache holds is replaced without --force', async () => {
    const dir = await trackedWithIgnoredFile();
    writeFileSync(join(dir, 'd/a.csv'), 'b');
    const r = json(await ok(dir, 'checkout', '--json'));
    expect(r.modified).toEqual(['d/a.csv']);
    expect(read(dir, 'd/a.csv')).toBe('orig');
  });

  it('a file wanted where an ignored folder stands: its files the cache lacks block the checkout', async () => {
    const dir = await makeRepo({ 'd/cfg': 'cfg', 'd/b.csv': 'b' });
    await ok(dir, 'add', 'd');
    writeFileSync(join(dir, '.mloignore'), `${read(dir, '.mloignore')}\ncfg/\n`);
    rmSync(join(dir, 'd/cfg'));
    mkdirSync(join(dir, 'd/cfg'));
    writeFileSync(join(dir, 'd/cfg/local.yaml'), 'mine');

    const refused = await mlo(dir, 'checkout');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('d/cfg/local.yaml');
    expect(read(dir, 'd/cfg/local.yaml')).toBe('mine');

    await ok(dir, 'checkout', '--force');
    expect(read(dir, 'd/cfg')).toBe('cfg');
  });
});

describe('checkout replacing a tracked folder by a file', () => {
  async function folderThenFile(ignore: string) {
    const dir = await makeRepo({ model: 'file' });
    await ok(dir, 'add', 'model');
    await commitAll(dir, 'file');
    await git(dir, 'checkout', '-qb', 'dirb');
    rmSync(join(dir, 'model'));
    mkdirSync(join(dir, 'model'));
    writeFileSync(join(dir, 'model/w.bin'), 'w');
    await ok(dir, 'commit', 'model');
    await commitAll(dir, 'dir');
    writeFileSync(join(dir, '.mloignore'), `${read(dir, '.mloignore')}\n${ignore}\n`);
    await git(dir, 'checkout', '-q', 'main');
    return dir;
  }

  it('ignored files inside block the removal without --force, and are named', async () => {
    const dir = await folderThenFile('*.pyc');
    mkdirSync(join(dir, 'model/__pycache__'));
    writeFileSync(join(dir, 'model/__pycache__/x.pyc'), 'precious');
    writeFileSync(join(dir, 'model/NOTES.pyc'), 'notes');

    const refused = await mlo(dir, 'checkout', '--json');
    expect(refused.exitCode).toBe(1);
    expect(json(refused).error.code).toBe('MLO_WOULD_LOSE_DATA');
    expect(json(refused).error.message).toContain('model/__pycache__/x.pyc');
    expect(json(refused).error.message).toContain('model/NOTES.pyc');
    expect(read(dir, 'model/__pycache__/x.pyc')).toBe('precious');

    json(await ok(dir, 'checkout', '--force', '--json'));
    expect(read(dir, 'model')).toBe('file');
  });

  it('ignored files whose content the cache holds do not block it', async () => {
    const dir = await folderThenFile('*.tmp');
    writeFileSync(join(dir, 'model/copy.tmp'), 'w');
    const r = json(await ok(dir, 'checkout', '--json'));
    expect(r.modified).toEqual(['model']);
    expect(read(dir, 'model')).toBe('file');
  });

  it('a symlink inside blocks it; --force removes the link and keeps what it points to', async () => {
    const dir = await folderThenFile('');
    const outside = tempDir();
    writeFileSync(join(outside, 'keep.txt'), 'OUTSIDE');
    symlinkSync(outside, join(dir, 'model/shared'));

    const refused = await mlo(dir, 'checkout');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('model/shared');

    await ok(dir, 'checkout', '--force');
    expect(read(dir, 'model')).toBe('file');
    expect(existsSync(join(outside, 'keep.txt'))).toBe(true);
  });
});
