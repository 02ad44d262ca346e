/**
 * What `mlo add` writes to .gitignore, and the git commands its hints and warnings suggest, checked
 * against real git: tricky names stay out of git and their neighbours do not; every suggested command
 * works when pasted into a shell in the folder mlo ran in.
 */
import { execa } from 'execa';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GIT_ENV, exists, git, json, makeRepo, mlo, mloWith, read } from '../helpers.js';

/** Exit code of `git check-ignore -q` for `path` (0 ignored, 1 not ignored). */
async function checkIgnore(dir: string, path: string): Promise<number> {
  const r = await execa('git', ['check-ignore', '-q', '--no-index', '--', path], { cwd: dir, reject: false });
  return r.exitCode ?? -1;
}

/** Untracked, not ignored files, as git status lists them (NUL-separated, so names are not quoted). */
async function untracked(dir: string): Promise<string[]> {
  const out = await git(dir, 'status', '--porcelain', '-z', '-uall');
  return out
    .split('\0')
    .filter((l) => l.startsWith('?? '))
    .map((l) => l.slice(3));
}

/** Runs `command` (a hint printed by mlo) in a POSIX shell in `cwd`; throws with its output on failure. */
async function paste(cwd: string, command: string): Promise<void> {
  const r = await execa('sh', ['-c', command], { cwd, env: GIT_ENV, reject: false });
  if (r.exitCode !== 0) throw new Error(`\`${command}\` failed in ${cwd}:\n${r.stdout}\n${r.stderr}`);
}

function hintLine(stderr: string, prefix: string): string {
  const line = stderr
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith(prefix));
  if (!line) throw new Error(`no line starting with "${prefix}" in:\n${stderr}`);
  return line;
}

describe('.gitignore entries match exactly the added name', () => {
  // (A backslash is a path separator to mlo, so `b\\x` is covered by the unit test of gitignoreEntry only.)
  const tricky = ['a[1].txt', 'trail ', 'two  ', 'st*r', 'q?', '!bang', '#hash', 'x]', ' lead', '[ab]'];
  const neighbours = ['a1.txt', 'trail', 'two ', 'star', 'qq', 'bang', 'hash', 'x', 'lead', 'a'];

  it('git ignores each tricky name and none of its neighbours', async () => {
    const tree = Object.fromEntries([...tricky, ...neighbours].map((n) => [n, `${n}\n`]));
    const dir = await makeRepo(tree);
    const r = await mlo(dir, 'add', ...tricky);
    expect(r.exitCode, r.stderr).toBe(0);
    for (const name of tricky) expect(await checkIgnore(dir, name), name).toBe(0);
    for (const name of neighbours) expect(await checkIgnore(dir, name), name).toBe(1);
    const left = await untracked(dir);
    for (const name of tricky) expect(left).not.toContain(name);
    for (const name of [...neighbours, ...tricky.map((n) => `${n}.mlo`)]) expect(left).toContain(name);
    await git(dir, 'add', '-A');
    const inGit = (await git(dir, 'ls-files', '-z')).split('\0');
    for (const name of tricky) expect(inGit).not.toContain(name);
  });

  it('adds each entry once, also when run again or after an equivalent line', async () => {
    const dir = await makeRepo({ 'a[1].txt': 'a', 'plain.csv': 'p', 'spaced.csv': 's', '.gitignore': '/spaced.csv  \n' });
    expect((await mlo(dir, 'add', '-q', 'a[1].txt', 'plain.csv', 'spaced.csv')).exitCode).toBe(0);
    expect((await mlo(dir, 'add', '-q', 'a[1].txt', 'plain.csv', 'spaced.csv')).exitCode).toBe(0);
    expect(read(dir, '.gitignore')).toBe('/spaced.csv  \n/a\\[1\\].txt\n/plain.csv\n');
  });

  it('corrects an unescaped entry of an earlier version in place, so the neighbour is no longer ignored', async () => {
    const dir = await makeRepo({ 'a[1].txt': 'a', 'a1.txt': 'neighbour', '.gitignore': 'keep.me\r\n/a[1].txt\r\n# end\r\n' });
    expect(await checkIgnore(dir, 'a1.txt')).toBe(0);
    expect((await mlo(dir, 'add', '-q', 'a[1].txt')).exitCode).toBe(0);
    expect(read(dir, '.gitignore')).toBe('keep.me\r\n/a\\[1\\].txt\r\n# end\r\n');
    expect(await checkIgnore(dir, 'a[1].txt')).toBe(0);
    expect(await checkIgnore(dir, 'a1.txt')).toBe(1);
  });

  it('refuses a name with a line break before writing anything', async () => {
    const dir = await makeRepo({ 'new\nline': 'nl', 'ok.csv': 'ok' });
    const r = await mlo(dir, 'add', 'ok.csv', 'new\nline', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).error).toMatchObject({ code: 'MLO_UNSUPPORTED_NAME', message: expect.stringContaining('"new\\nline"') });
    expect(json(r).error.hint).toContain('rename it');
    expect(exists(dir, '.gitignore')).toBe(false);
    expect(exists(dir, 'ok.csv.mlo')).toBe(false);
    expect(exists(dir, 'new\nline.mlo')).toBe(false);
  });
});

describe('mlo add writes nothing when one path fails', () => {
  it('a path that cannot be hashed leaves no pointer and no .gitignore for the others', async () => {
    const dir = await makeRepo({ 'a.csv': 'a' });
    await execa('mkfifo', [join(dir, 'z.fifo')]);
    const r = await mlo(dir, 'add', 'a.csv', 'z.fifo', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).error).toMatchObject({ code: 'MLO_UNSUPPORTED_FILE', message: expect.stringContaining('z.fifo') });
    expect(exists(dir, 'a.csv.mlo')).toBe(false);
    expect(exists(dir, '.gitignore')).toBe(false);
  });
});

describe('hints name paths from the folder mlo ran in, quoted for the shell', () => {
  it('the git add hint works when pasted in a subfolder', async () => {
    const dir = await makeRepo({ 'sub/s.txt': 's', "sub/it's $HOME.txt": 'q', 'top.csv': 't' });
    const sub = join(dir, 'sub');
    const r = await mlo(sub, 'add', 's.txt', "it's $HOME.txt", '../top.csv');
    expect(r.exitCode, r.stderr).toBe(0);
    const hint = hintLine(r.stderr, 'git add ');
    expect(hint).toBe(`git add 'it'\\''s $HOME.txt.mlo' .gitignore s.txt.mlo ../top.csv.mlo ../.gitignore`);
    await paste(sub, hint);
    const staged = (await git(dir, 'diff', '--cached', '--name-only', '-z')).split('\0').filter(Boolean).sort();
    expect(staged).toEqual(['.gitignore', 'sub/.gitignore', "sub/it's $HOME.txt.mlo", 'sub/s.txt.mlo', 'top.csv.mlo']);
  });

  it('-C counts as the folder mlo ran in', async () => {
    const dir = await makeRepo({ 'sub/s.txt': 's' });
    const r = await mloWith({ cwd: dir }, '-C', 'sub', 'add', 's.txt');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(hintLine(r.stderr, 'git add ')).toBe('git add s.txt.mlo .gitignore');
  });

  it('a folder git tracks: the hint names the folder given, and pasting it lets add succeed', async () => {
    const dir = await makeRepo({ 'data/gd/a': 'a', 'data/gd/b': 'b', 'data/gd/c/d': 'd' }, { commit: true });
    const sub = join(dir, 'data');
    const r = await mlo(sub, 'add', 'gd', '--json');
    expect(r.exitCode).toBe(1);
    const { error } = json(r);
    expect(error).toMatchObject({ code: 'MLO_TRACKED_BY_GIT', message: 'data/gd is already tracked by git' });
    expect(error.hint).toContain('git rm -r --cached gd ');
    await paste(sub, /git rm -r --cached \S+/.exec(error.hint)![0]);
    const again = await mlo(sub, 'add', 'gd');
    expect(again.exitCode, again.stderr).toBe(0);
  });

  it('a git-tracked name with glob characters is matched literally', async () => {
    const dir = await makeRepo({ 'a1.txt': 'in git', 'a[1].txt': 'data' }, { commit: false });
    await git(dir, 'add', 'a1.txt');
    const r = await mlo(dir, 'add', 'a[1].txt');
    expect(r.exitCode, r.stderr).toBe(0);
    writeFileSync(join(dir, 'x y.csv'), 'x');
    await git(dir, 'add', 'x y.csv');
    const inGit = await mlo(dir, 'add', 'x y.csv');
    expect(inGit.exitCode).toBe(1);
    expect(inGit.stderr).toContain(`git rm -r --cached 'x y.csv' `);
  });
});

describe('a pointer git ignores', () => {
  it('is named in a warning with the rule, left out of the git add hint, and reported in --json', async () => {
    const dir = await makeRepo({ 'raw/r.csv': 'r', 'keep.csv': 'k', '.gitignore': '# data\nraw/\n' });
    const r = await mlo(dir, 'add', 'raw/r.csv', 'keep.csv');
    expect(r.exitCode, r.stderr).toBe(0);
    const warning = hintLine(r.stderr, 'warning: raw/r.csv.mlo');
    expect(warning).toContain(`'raw/' in .gitignore:2`);
    expect(warning).toContain('git add -f raw/r.csv.mlo');
    expect(r.stderr).not.toContain('warning: keep.csv.mlo');
    expect(hintLine(r.stderr, 'git add ')).toBe('git add keep.csv.mlo .gitignore');

    const again: Array<{ path: string; ignoredBy?: unknown }> = json(await mlo(dir, 'add', 'raw/r.csv', 'keep.csv', '--json'));
    expect(again.find((a) => a.path === 'raw/r.csv')!.ignoredBy).toEqual({ source: '.gitignore', line: 2, pattern: 'raw/' });
    expect(again.find((a) => a.path === 'keep.csv')).not.toHaveProperty('ignoredBy');
    await paste(dir, 'git add -f raw/r.csv.mlo');
    expect(await git(dir, 'ls-files', 'raw')).toBe('raw/r.csv.mlo');
  });

  it('names rules in other files (info/exclude, nested .gitignore) and not negated ones', async () => {
    const dir = await makeRepo({ 'm/a.bin': 'a', 'm/b.bin': 'b', 'c.bin': 'c', 'm/.gitignore': '*.mlo\n!b.bin.mlo\n' });
    writeFileSync(join(dir, '.git/info/exclude'), 'c.bin.mlo\n');
    const sub = join(dir, 'm');
    const r = await mlo(sub, 'add', 'a.bin', 'b.bin', '../c.bin');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(hintLine(r.stderr, 'warning: m/a.bin.mlo')).toContain(`'*.mlo' in .gitignore:1`);
    expect(hintLine(r.stderr, 'warning: c.bin.mlo')).toContain(`'c.bin.mlo' in ../.git/info/exclude:1`);
    expect(r.stderr).not.toContain('warning: m/b.bin.mlo');
    // The .gitignore entries of the ignored pointers' data are still mlo's changes for git to keep.
    expect(hintLine(r.stderr, 'git add ')).toBe('git add ../.gitignore .gitignore b.bin.mlo');
  });
});

describe('mlo commit checks every target before writing', () => {
  it('a deleted tracked path fails the whole commit, names it, and no pointer changes', async () => {
    const dir = await makeRepo({ 'a.txt': 'a\n', 'b.txt': 'b\n', 'sub/keep': 'k' });
    expect((await mlo(dir, 'add', '-q', 'a.txt', 'b.txt')).exitCode).toBe(0);
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-qm', 'v1');
    const before = readFileSync(join(dir, 'a.txt.mlo'));
    writeFileSync(join(dir, 'a.txt'), 'a2\n');
    await execa('rm', [join(dir, 'b.txt')]);

    const r = await mlo(dir, 'commit', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).error).toMatchObject({ code: 'MLO_NOT_FOUND', message: 'b.txt: no such file or directory' });
    expect(json(r).error.hint).toContain('mlo checkout b.txt');
    expect(json(r).error.hint).toContain('git rm b.txt.mlo');
    expect(readFileSync(join(dir, 'a.txt.mlo'))).toEqual(before);
    expect(await git(dir, 'status', '--porcelain')).toBe('');

    const fromSub = await mlo(join(dir, 'sub'), 'commit');
    expect(fromSub.stderr).toContain('git rm ../b.txt.mlo');
    await paste(join(dir, 'sub'), 'git rm -q ../b.txt.mlo');
    const ok = await mlo(dir, 'commit', '--json');
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(json(ok)).toMatchObject([{ path: 'a.txt', changed: true }]);
  });

  it('a tracked directory named twice is recorded once', async () => {
    const dir = await makeRepo({ 'd/x': 'x', 'd/y': 'y' });
    expect((await mlo(dir, 'add', '-q', 'd')).exitCode).toBe(0);
    mkdirSync(join(dir, 'd/z'));
    writeFileSync(join(dir, 'd/z/w'), 'w');
    const r = await mlo(dir, 'commit', 'd/x', 'd/y', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r)).toMatchObject([{ path: 'd', files: 3, changed: true }]);
  });
});
