/**
 * `mlo run` never writes where it must not: outs and wdirs beyond a symlinked folder or inside .git/,
 * outs that git or an `mlo add` pointer already tracks, two runs at once; an invalid mlo.lock entry
 * does not wedge the repository; a stage's env is part of what makes it changed.
 */
import { execa } from 'execa';
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GIT_ENV, MLO_BIN, exists, git, json, makeRepo, mlo, mloWith, read, tempDir } from '../helpers.js';

const stageYaml = (name: string, body: string) => `stages:\n  ${name}:\n${body.replace(/^/gm, '    ')}\n`;
const errorOf = (r: { stdout: string; stderr: string }) => json(r).error as { code: string; message: string; hint?: string };

async function waitFor(file: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('outs and wdir beyond a symlinked folder', () => {
  it('refuses before anything runs or is deleted, naming the stage, the out and the link', async () => {
    const outside = tempDir('mlo-outside-');
    writeFileSync(join(outside, 'keep.txt'), 'precious\n');
    const dir = await makeRepo({ 'd.txt': '1\n', 'mlo.yaml': stageYaml('c', 'cmd: echo ran > ran.txt\ndeps: [d.txt]\nouts: [linkdir/keep.txt]') });
    symlinkSync(outside, join(dir, 'linkdir'));
    const r = await mlo(dir, 'run', '--json');
    expect(r.exitCode, r.stderr).toBe(1);
    const error = errorOf(r);
    expect(error.code).toBe('MLO_BAD_PATH');
    expect(error.message).toBe("mlo.yaml:5: stage 'c': out 'linkdir/keep.txt' is beyond a symbolic link (linkdir)");
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('precious\n');
    expect(existsSync(join(outside, '.gitignore'))).toBe(false);
    expect(exists(dir, 'ran.txt')).toBe(false);
    expect(exists(dir, 'mlo.lock')).toBe(false);
    // --dry and status refuse the pipeline too.
    expect(errorOf(await mlo(dir, 'run', '--dry', '--json')).code).toBe('MLO_BAD_PATH');
  });

  it('refuses a symlinked wdir, a link deeper in the path, and mlo stage add through a link', async () => {
    const outside = tempDir('mlo-outside-');
    const dir = await makeRepo({ 'd.txt': '1\n' });
    symlinkSync(outside, join(dir, 'linkdir'));
    mkdirSync(join(dir, 'real'));
    symlinkSync(outside, join(dir, 'real', 'inner'));

    writeFileSync(join(dir, 'mlo.yaml'), stageYaml('w', 'cmd: echo x > o.txt\nwdir: linkdir\nouts: [o.txt]'));
    let r = await mlo(dir, 'run', '--json');
    expect(errorOf(r).message).toContain("stage 'w': wdir 'linkdir' is beyond a symbolic link (linkdir)");
    expect(existsSync(join(outside, 'o.txt'))).toBe(false);

    writeFileSync(join(dir, 'mlo.yaml'), stageYaml('n', 'cmd: "true"\ndeps: [d.txt]\nouts: [real/inner/deep/x.bin]'));
    r = await mlo(dir, 'run', '--json');
    expect(errorOf(r).message).toContain("out 'real/inner/deep/x.bin' is beyond a symbolic link (real/inner)");

    r = await mlo(dir, 'stage', 'add', '-n', 's', '-o', 'linkdir/x', '--json', '--', 'echo', 'hi');
    expect(r.exitCode).toBe(1);
    expect(errorOf(r).code).toBe('MLO_BAD_PATH');
    expect(read(dir, 'mlo.yaml')).not.toContain('linkdir/x');
  });

  it('accepts an out that is itself a symlink (cache.type symlink links outs to the cache)', async () => {
    const dir = await makeRepo({ 'd.txt': '1\n', 'mlo.yaml': stageYaml('s', 'cmd: mkdir -p sub && cp d.txt sub/o.txt\ndeps: [d.txt]\nouts: [sub/o.txt]') });
    writeFileSync(join(dir, '.mlo/config.local.yaml'), 'cache:\n  type: symlink\n');
    const first = await mlo(dir, 'run');
    expect(first.exitCode, first.stderr).toBe(0);
    expect(lstatSync(join(dir, 'sub/o.txt')).isSymbolicLink()).toBe(true);
    const again = await mlo(dir, 'run', '--force');
    expect(again.exitCode, again.stderr).toBe(0);
  });
});

describe('paths inside .git', () => {
  it('refuses outs and wdir inside .git/ in any letter case, at load time', async () => {
    const dir = await makeRepo({ 'd.txt': '1\n' });
    for (const [body, text] of [
      ['cmd: echo x > .git/evil\ndeps: [d.txt]\nouts: [.git/evil]', "outs '.git/evil' is inside a .git folder"],
      ['cmd: "true"\ndeps: [d.txt]\nouts: [sub/.GIT/x]', "outs 'sub/.GIT/x' is inside a .git folder"],
      ['cmd: echo x > o.txt\nwdir: .git\nouts: [o.txt]', "wdir '.git' is inside a .git folder"],
      ['cmd: echo x > o.txt\nwdir: sub\nouts: [../.Git/hooks/x]', "outs '../.Git/hooks/x' is inside a .git folder"],
    ]) {
      writeFileSync(join(dir, 'mlo.yaml'), stageYaml('g', body));
      const r = await mlo(dir, 'run', '--json');
      expect(r.exitCode, body).toBe(1);
      expect(errorOf(r).code).toBe('MLO_BAD_PATH');
      expect(errorOf(r).message).toContain(text);
      expect(errorOf(r).message).toContain("stage 'g'");
    }
    expect(exists(dir, '.git/evil')).toBe(false);
    expect(exists(dir, 'mlo.lock')).toBe(false);
  });

  it('mlo stage add refuses an out inside .git/', async () => {
    const dir = await makeRepo({});
    const r = await mlo(dir, 'stage', 'add', '-n', 'd', '-o', '.git/hooks/pre-commit', '--json', '--', 'echo', 'hi');
    expect(r.exitCode).toBe(1);
    expect(errorOf(r)).toMatchObject({ code: 'MLO_BAD_PATH', message: expect.stringContaining("'.git/hooks/pre-commit' is inside a .git folder") });
    expect(exists(dir, 'mlo.yaml')).toBe(false);
  });

  it('an invalid mlo.lock entry does not wedge the repository', async () => {
    const dir = await makeRepo({ 'd.txt': '1\n', 'mlo.yaml': stageYaml('c', 'cmd: cp d.txt o.txt\ndeps: [d.txt]\nouts: [o.txt]') });
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    const hash = /hash: ([0-9a-f]{64})/.exec(read(dir, 'mlo.lock'))![1];
    // As an earlier mlo wrote it: the stage had `outs: [.git/evil]`, and was then removed from mlo.yaml.
    writeFileSync(
      join(dir, 'mlo.lock'),
      `${read(dir, 'mlo.lock')}  evil:\n    cmd: echo hi\n    outs:\n      - path: .git/evil\n        hash: ${hash}\n        size: 2\n`,
    );
    const run = await mlo(dir, 'run', '--json');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(json(run).stages).toEqual([expect.objectContaining({ name: 'c', status: 'unchanged' })]);
    expect(run.stderr).toContain("dropped the entry of stage 'evil'");
    expect(read(dir, 'mlo.lock')).not.toContain('evil');
    const status = await mlo(dir, 'status');
    expect(status.exitCode, status.stderr).toBe(0);

    // An invalid entry of a stage still in mlo.yaml: the stage runs again and its entry is rewritten.
    writeFileSync(join(dir, 'mlo.lock'), read(dir, 'mlo.lock').replace('path: o.txt', 'path: .git/o.txt'));
    const dry = await mlo(dir, 'run', '--dry', '--json');
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(json(dry).stages[0].reasons[0].message).toMatch(/^its mlo.lock entry is invalid \(mlo.lock:\d+: stages.c.outs.0.path: .*\): runs again$/);
    const again = await mlo(dir, 'run', '--json');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(read(dir, 'mlo.lock')).toContain('path: o.txt');
    expect(json(await mlo(dir, 'run', '--json')).stages[0].status).toBe('unchanged');
  });
});

describe('one run at a time', () => {
  const SLOW = stageYaml('a', 'cmd: echo 1 > a.txt; touch started; sleep 2; echo 2 >> a.txt\nalways_changed: true\nouts: [a.txt]');

  it('a second run waits for the repository lock, then fails naming the holder', async () => {
    const dir = await makeRepo({ 'mlo.yaml': SLOW });
    const first = mloWith({ cwd: dir }, 'run');
    await waitFor(join(dir, 'started'));
    const second = await mloWith({ cwd: dir, env: { MLO_LOCK_TIMEOUT: '0.3' } }, 'run', '--json');
    expect(second.exitCode).toBe(1);
    const error = errorOf(second);
    expect(error.code).toBe('MLO_LOCKED');
    expect(error.message).toMatch(/^the repository is locked by process \d+ \(mlo run, since /);
    const r = await first;
    expect(r.exitCode, r.stderr).toBe(0);
    expect(read(dir, 'a.txt')).toBe('1\n2\n');
  });

  it('with time to wait, the second run starts after the first and stores an intact out', async () => {
    const dir = await makeRepo({ 'mlo.yaml': SLOW });
    const first = mloWith({ cwd: dir }, 'run');
    await waitFor(join(dir, 'started'));
    const second = await mloWith({ cwd: dir, env: { MLO_LOCK_TIMEOUT: '30' } }, 'run');
    expect(second.exitCode, second.stderr).toBe(0);
    expect((await first).exitCode).toBe(0);
    expect(read(dir, 'a.txt')).toBe('1\n2\n');
    const status = await mlo(dir, 'status', '--json');
    expect(status.exitCode, status.stderr).toBe(0);
  });

  it('a no-op run does not need the lock; parallel stages of one run share it', async () => {
    const dir = await makeRepo({
      'd.txt': '1\n',
      'mlo.yaml':
        'stages:\n  x:\n    cmd: sleep 0.3; cp d.txt x.txt\n    deps: [d.txt]\n    outs: [x.txt]\n  y:\n    cmd: sleep 0.3; cp d.txt y.txt\n    deps: [d.txt]\n    outs: [y.txt]\n',
    });
    const r = await mloWith({ cwd: dir, env: { MLO_LOCK_TIMEOUT: '0.1' } }, 'run', '-j', '2', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r).stages.map((s: { status: string }) => s.status)).toEqual(['ran', 'ran']);
    expect(exists(dir, '.mlo/tmp/lock')).toBe(false);

    // Another live process holds the lock: a no-op run still answers, a run that acts waits and fails.
    writeFileSync(join(dir, '.mlo/tmp/lock'), JSON.stringify({ pid: process.pid, host: hostname(), command: 'test', since: new Date().toISOString() }));
    const noop = await mloWith({ cwd: dir, env: { MLO_LOCK_TIMEOUT: '0.1' } }, 'run', '--json');
    expect(noop.exitCode, noop.stderr).toBe(0);
    writeFileSync(join(dir, 'd.txt'), '2\n');
    const busy = await mloWith({ cwd: dir, env: { MLO_LOCK_TIMEOUT: '0.1' } }, 'run', '--json');
    expect(errorOf(busy).code).toBe('MLO_LOCKED');
    expect(json(busy).result).toBeUndefined();
    expect(read(dir, 'x.txt')).toBe('1\n');
  });

  it('ends what a command left running in the background before recording its outs', async () => {
    const dir = await makeRepo({
      'd.txt': '1\n',
      'mlo.yaml': stageYaml('b', 'cmd: (sleep 1; echo late >> o.txt) > /dev/null 2>&1 & echo early > o.txt\ndeps: [d.txt]\nouts: [o.txt]'),
    });
    const r = await mlo(dir, 'run');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("stage 'b': its command left processes running in the background");
    await new Promise((res) => setTimeout(res, 1500));
    expect(read(dir, 'o.txt')).toBe('early\n');
    expect(json(await mlo(dir, 'run', '--json')).stages[0].status).toBe('unchanged');
  });

  it('SIGTERM to mlo run ends the stage process group', async () => {
    const dir = await makeRepo({ 'mlo.yaml': stageYaml('s', 'cmd: touch started; sleep 3; echo late > late.txt\nalways_changed: true\nouts: [late.txt]') });
    const child = execa(process.execPath, [MLO_BIN, 'run'], { cwd: dir, env: GIT_ENV, reject: false });
    await waitFor(join(dir, 'started'));
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode).toBe(130);
    await new Promise((res) => setTimeout(res, 3500));
    expect(exists(dir, 'late.txt')).toBe(false);
  });
});

describe('env', () => {
  const ENV = (v: string) => stageYaml('e', `cmd: echo $FOO > o.txt\ndeps: [d.txt]\nenv: {FOO: ${v}}\nouts: [o.txt]`);

  it('a changed env re-runs the stage, and is part of the run-cache key', async () => {
    const dir = await makeRepo({ 'd.txt': '1\n', 'mlo.yaml': ENV('one') });
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    expect(read(dir, 'mlo.lock')).toContain('    env:\n      FOO: one\n');
    writeFileSync(join(dir, 'mlo.yaml'), ENV('two'));
    const dry = await mlo(dir, 'run', '--dry', '--json');
    expect(json(dry).stages[0]).toMatchObject({ action: 'run', reasons: [{ kind: 'env', message: 'env changed: FOO' }] });
    const status = await mlo(dir, 'status', '--json');
    expect(json(status).stages[0].reasons[0].message).toBe('env changed: FOO');
    expect(json(await mlo(dir, 'run', '--json')).stages[0].status).toBe('ran');
    expect(read(dir, 'o.txt')).toBe('two\n');
    writeFileSync(join(dir, 'mlo.yaml'), ENV('one'));
    const back = await mlo(dir, 'run', '--json');
    expect(json(back).stages[0]).toMatchObject({ status: 'restored', restoredFrom: 'run-cache' });
    expect(read(dir, 'o.txt')).toBe('one\n');
    expect(json(await mlo(dir, 'run', '--json')).stages[0].status).toBe('unchanged');
  });

  it('mlo.lock entries written without env: stages without env stay up to date, stages with env are redone once', async () => {
    const dir = await makeRepo({
      'd.txt': '1\n',
      'mlo.yaml':
        'stages:\n  plain:\n    cmd: cp d.txt p.txt\n    deps: [d.txt]\n    outs: [p.txt]\n  withenv:\n    cmd: echo $FOO > e.txt\n    deps: [d.txt]\n    env: {FOO: one}\n    outs: [e.txt]\n',
    });
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    // As an earlier mlo wrote it: no env in any entry.
    writeFileSync(join(dir, 'mlo.lock'), read(dir, 'mlo.lock').replace(/ {4}env:\n {6}FOO: one\n/, ''));
    expect(read(dir, 'mlo.lock')).not.toMatch(/^ +env:/m);
    const r = await mlo(dir, 'run', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    // The run cache (whose key covers env) knows this run: its entry is rewritten without running it.
    expect(json(r).stages.map((s: { name: string; status: string }) => [s.name, s.status])).toEqual([
      ['plain', 'unchanged'],
      ['withenv', 'restored'],
    ]);
    expect(json(r).stages[1].reasons).toEqual([expect.objectContaining({ kind: 'env', message: 'env changed: FOO' })]);
    expect(read(dir, 'mlo.lock')).toContain('    env:\n      FOO: one\n');
    expect(json(await mlo(dir, 'run', '--json')).stages.map((s: { status: string }) => s.status)).toEqual(['unchanged', 'unchanged']);
  });
});

describe('outs already tracked elsewhere', () => {
  it('refuses a cached out that git tracks, before the command runs', async () => {
    const dir = await makeRepo({ 'd.txt': '1\n', 't.txt': 'committed\n', 'data/a.csv': 'a\n' }, { commit: true });
    writeFileSync(join(dir, 'mlo.yaml'), stageYaml('t', 'cmd: echo x > t.txt; touch ran\ndeps: [d.txt]\nouts: [t.txt]'));
    const r = await mlo(dir, 'run', '--json');
    expect(r.exitCode).toBe(1);
    expect(errorOf(r)).toMatchObject({
      code: 'MLO_OUT_IN_GIT',
      message: "mlo.yaml:5: stage 't': out 't.txt' is tracked by git",
      hint: expect.stringContaining('git rm -r --cached t.txt'),
    });
    expect(read(dir, 't.txt')).toBe('committed\n');
    expect(exists(dir, 'ran')).toBe(false);
    expect(exists(dir, '.gitignore') ? read(dir, '.gitignore') : '').not.toContain('t.txt');

    // A directory out holding tracked files, too.
    writeFileSync(join(dir, 'mlo.yaml'), stageYaml('d', 'cmd: mkdir -p data && touch data/b.csv\ndeps: [d.txt]\nouts: [data]'));
    const d = await mlo(dir, 'run', '--json');
    expect(errorOf(d).message).toBe("mlo.yaml:5: stage 'd': out 'data' holds files tracked by git (data/a.csv)");
    expect(read(dir, 'data/a.csv')).toBe('a\n');

    // An uncached out is meant to be in git.
    writeFileSync(join(dir, 'mlo.yaml'), stageYaml('t', 'cmd: echo x > t.txt\ndeps: [d.txt]\nouts:\n  - t.txt: {cache: false}'));
    const ok = await mlo(dir, 'run');
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(read(dir, 't.txt')).toBe('x\n');

    // After git rm --cached, the stage may own it.
    await git(dir, 'rm', '-q', '--cached', 't.txt');
    writeFileSync(join(dir, 'mlo.yaml'), stageYaml('t', 'cmd: echo y > t.txt\ndeps: [d.txt]\nouts: [t.txt]'));
    const owned = await mlo(dir, 'run');
    expect(owned.exitCode, owned.stderr).toBe(0);
    expect(read(dir, '.gitignore')).toContain('/t.txt');
  });

  it('refuses an out that an mlo add pointer tracks (or that contains one), before the command runs', async () => {
    const dir = await makeRepo({ 'd.txt': '1\n', 'added.csv': 'a,b\n', 'sets/x.csv': 'x\n' });
    expect((await mlo(dir, 'add', 'added.csv', 'sets/x.csv')).exitCode).toBe(0);
    writeFileSync(join(dir, 'mlo.yaml'), stageYaml('s', 'cmd: echo x > added.csv\ndeps: [d.txt]\nouts: [added.csv]'));
    const r = await mlo(dir, 'run', '--json');
    expect(r.exitCode).toBe(1);
    expect(errorOf(r)).toMatchObject({
      code: 'MLO_OVERLAPPING_PATHS',
      message: "mlo.yaml:5: stage 's': out 'added.csv' is already tracked by added.csv.mlo (mlo add)",
      hint: expect.stringContaining('delete the pointer file added.csv.mlo'),
    });
    expect(read(dir, 'added.csv')).toBe('a,b\n');

    writeFileSync(join(dir, 'mlo.yaml'), stageYaml('s', 'cmd: mkdir -p sets && echo y > sets/y.csv\ndeps: [d.txt]\nouts: [sets]'));
    const d = await mlo(dir, 'run', '--json');
    expect(errorOf(d).message).toBe("mlo.yaml:5: stage 's': out 'sets' contains sets/x.csv, tracked by sets/x.csv.mlo (mlo add)");
    expect(exists(dir, 'sets/y.csv')).toBe(false);
    const status = await mlo(dir, 'status');
    expect(status.exitCode, status.stderr).toBe(0);
  });
});
