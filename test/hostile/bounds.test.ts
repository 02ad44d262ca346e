/**
 * Hostile repositories, item 4 of issue 15 and the leftovers: sizes a stranger controls (a pointer's
 * size against its object, metric text values), a dangling `.mlo/.gitignore` link under `mlo init`,
 * and `mlo doctor` in a repository other commands refuse.
 */
import { existsSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, makeRepo, mlo, tempDir, type MloResult } from '../helpers.js';
import { LINEAR } from '../model/fixtures.js';

function oneError(r: MloResult, exit: number, message: RegExp): void {
  const detail = `exit ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect(r.exitCode, detail).toBe(exit);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  expect(errors, detail).toHaveLength(1);
  expect(errors[0], detail).toMatch(message);
  expect(r.stderr, detail).not.toMatch(/bug in mlo|\n\s+at /);
}

function setSize(repo: string, pointer: string, size: string): void {
  const file = join(repo, pointer);
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^size: .*$/m, `size: ${size}`));
}

describe("a pointer's size", () => {
  it('is refused past 2^53-1, negative or fractional, naming the pointer', async () => {
    const repo = await makeRepo({ 'f.txt': 'hi\n' });
    expect((await mlo(repo, 'add', 'f.txt')).exitCode).toBe(0);
    for (const size of ['1e300', '99999999999999999', '-1', '1.5']) {
      setSize(repo, 'f.txt.mlo', size);
      oneError(await mlo(repo, 'status'), 1, /^error: f\.txt\.mlo:\d+: size: must be a whole number from 0 to 9007199254740991/);
    }
  });

  it('that disagrees with its object is damage for status and fsck, and checkout refuses it', async () => {
    const repo = await makeRepo({ 'f.txt': 'hi\n', 'd/a': 'a\n', 'd/b': 'bb\n' });
    expect((await mlo(repo, 'add', 'f.txt', 'd')).exitCode).toBe(0);
    setSize(repo, 'f.txt.mlo', '99');
    setSize(repo, 'd.mlo', '7');

    const status = await mlo(repo, 'status', '--json');
    const doc = json(status);
    expect(doc.clean).toBe(false);
    const byPath = Object.fromEntries(doc.entries.map((e: { path: string }) => [e.path, e]));
    expect(byPath['f.txt'].sizeMismatch).toEqual({ path: 'f.txt', hash: expect.any(String), source: 'f.txt.mlo', recorded: { size: 99 }, actual: { size: 3 } });
    expect(byPath.d.sizeMismatch).toMatchObject({ source: 'd.mlo', recorded: { size: 7, files: 2 }, actual: { size: 5, files: 2 } });
    const text = await mlo(repo, 'status');
    expect(text.stdout).toContain("size mismatch: f.txt (f.txt.mlo) records 99 bytes, the cache's object holds 3");
    expect(text.stdout).toContain('size mismatch: d (d.mlo) records 7 bytes, the files its manifest lists add up to 5');

    oneError(await mlo(repo, 'fsck'), 1, /^error: 2 pointers record a size the cache does not hold/);
    const fsck = json(await mlo(repo, 'fsck', '--json'));
    expect(fsck.error.code).toBe('MLO_SIZE_MISMATCH');

    rmSync(join(repo, 'f.txt'));
    oneError(await mlo(repo, 'checkout'), 1, /^error: f\.txt\.mlo: f\.txt records 99 bytes, the cache's object holds 3/);
    expect(existsSync(join(repo, 'f.txt'))).toBe(false);

    // mlo add on the right data writes the true size back.
    writeFileSync(join(repo, 'f.txt'), 'hi\n');
    expect((await mlo(repo, 'add', 'f.txt', 'd')).exitCode).toBe(0);
    expect(json(await mlo(repo, 'status', '--json')).clean).toBe(true);
  });
});

describe('mlo fsck on pointers and mlo.lock it cannot read', () => {
  const bomb = ['a: &a [1,1,1,1,1,1,1,1,1]', ...'bcdef'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcde'[i]}`).join(',')}]`)].join('\n');

  it('reports each as damage, naming the file and why, exits 1 and lists them under --json', async () => {
    const repo = await makeRepo({ 'f.txt': 'hi\n', 'g.txt': 'gg\n', 'h.txt': 'hhh\n', 'k.txt': 'k\n' });
    expect((await mlo(repo, 'add', 'f.txt', 'g.txt', 'h.txt', 'k.txt')).exitCode).toBe(0);
    expect((await mlo(repo, 'fsck')).stdout).toMatch(/no problems/);
    setSize(repo, 'f.txt.mlo', '1e300');
    writeFileSync(join(repo, 'g.txt.mlo'), `${bomb}\n`);
    const k = join(repo, 'k.txt.mlo');
    writeFileSync(k, readFileSync(k, 'utf8').replace(/^path: .*$/m, 'path: ../.mlo/config.yaml'));
    // A pointer that reads fine is still checked beside the broken ones.
    setSize(repo, 'h.txt.mlo', '99');
    const hash = /^hash: (\S+)$/m.exec(readFileSync(join(repo, 'h.txt.mlo'), 'utf8'))?.[1];
    writeFileSync(
      join(repo, 'mlo.lock'),
      `schema: 1\nstages:\n  train:\n    cmd: node t.js\n    outs:\n      - path: out.bin\n        hash: ${hash}\n        size: -1\n`,
    );

    const r = await mlo(repo, 'fsck');
    oneError(r, 1, /^error: 4 pointer or lock records cannot be read \(f\.txt\.mlo:\d+: size: must be a whole number/);
    expect(r.stdout).toMatch(/^unreadable: f\.txt\.mlo:\d+: size: must be a whole number from 0 to 9007199254740991/m);
    expect(r.stdout).toMatch(/^unreadable: g\.txt\.mlo: too many YAML alias expansions/m);
    expect(r.stdout).toMatch(/^unreadable: k\.txt\.mlo:\d+: path: /m);
    expect(r.stdout).toMatch(/^unreadable: mlo\.lock:\d+: stages\.train\.outs\.0\.size: must be a whole number/m);
    expect(r.stdout).toMatch(/^size mismatch: h\.txt \(h\.txt\.mlo\) records 99 bytes/m);
    expect(r.stdout).not.toMatch(/no problems/);

    const doc = json(await mlo(repo, 'fsck', '--json'));
    expect(doc.error.code).toBe('MLO_BROKEN_FILES');
    expect(doc.result.brokenFiles.map((b: { file: string; code: string }) => [b.file, b.code])).toEqual([
      ['f.txt.mlo', 'MLO_BAD_FILE'],
      ['g.txt.mlo', expect.any(String)],
      ['k.txt.mlo', 'MLO_BAD_FILE'],
      ['mlo.lock', 'MLO_BAD_LOCK'],
    ]);
    expect(doc.result.sizeMismatches).toHaveLength(1);
  });

  it('reports an mlo.lock that is not YAML, with corrupt objects too', async () => {
    const repo = await makeRepo({ 'f.txt': 'hi\n' });
    expect((await mlo(repo, 'add', 'f.txt')).exitCode).toBe(0);
    writeFileSync(join(repo, 'mlo.lock'), 'stages: [\n');
    const only = await mlo(repo, 'fsck', '--json');
    expect(only.exitCode).toBe(1);
    expect(json(only).result.brokenFiles).toEqual([
      { file: 'mlo.lock', code: 'MLO_BAD_LOCK', message: expect.stringMatching(/^mlo\.lock:\d+:\d+: invalid YAML/) },
    ]);

    const objects = join(repo, '.mlo/cache');
    const hash = /^hash: (\S+)$/m.exec(readFileSync(join(repo, 'f.txt.mlo'), 'utf8'))?.[1] ?? '';
    const object = join(objects, hash.slice(0, 2), hash.slice(2));
    rmSync(object, { force: true });
    writeFileSync(object, 'XX\n');
    oneError(await mlo(repo, 'fsck'), 1, /^error: 1 of 1 cache objects are corrupt or truncated, and 1 pointer or lock record cannot be read \(mlo\.lock:/);
  });
});

describe("a model's size in model.yaml and registry version files", () => {
  it('is refused past 2^53-1, negative or fractional, naming the file and field', async () => {
    const repo = await makeRepo({ 'm.onnx': LINEAR }, { commit: true });
    expect((await mlo(repo, 'model', 'package', 'm.onnx', '--name', 'churn')).exitCode).toBe(0);
    expect((await mlo(repo, 'model', 'register', 'models/churn')).exitCode).toBe(0);
    const setModelSize = (file: string, size: string) => {
      const abs = join(repo, file);
      // The model's own size is the first `size:` line under `model:` (two spaces in).
      writeFileSync(abs, readFileSync(abs, 'utf8').replace(/^(model:\n(?: {2}.*\n)*?) {2}size: .*$/m, `$1  size: ${size}`));
    };
    const original = {
      pkg: readFileSync(join(repo, 'models/churn/model.yaml'), 'utf8'),
      version: readFileSync(join(repo, 'registry/churn/versions/1.yaml'), 'utf8'),
    };
    for (const size of ['1e300', '99999999999999999', '-1', '1.5']) {
      setModelSize('models/churn/model.yaml', size);
      expect(readFileSync(join(repo, 'models/churn/model.yaml'), 'utf8')).toContain(`  size: ${size}`);
      oneError(
        await mlo(repo, 'model', 'register', 'models/churn'),
        1,
        /^error: models\/churn\/model\.yaml:\d+: model\.size: must be a whole number from 0 to 9007199254740991/,
      );
      writeFileSync(join(repo, 'models/churn/model.yaml'), original.pkg);

      setModelSize('registry/churn/versions/1.yaml', size);
      oneError(
        await mlo(repo, 'model', 'show', 'churn@1'),
        1,
        /^error: registry\/churn\/versions\/1\.yaml:\d+: model\.size: must be a whole number from 0 to 9007199254740991/,
      );
      writeFileSync(join(repo, 'registry/churn/versions/1.yaml'), original.version);
    }
    expect((await mlo(repo, 'model', 'show', 'churn@1')).exitCode).toBe(0);
  });
});

describe('metric keys', () => {
  it('longer than 250 characters are skipped with a warning from stage files, as mlo log refuses them', async () => {
    const long = 'k'.repeat(300);
    const script = [
      "const fs = require('fs');",
      `fs.appendFileSync(process.env.MLO_METRICS_FILE, JSON.stringify({ step: 0, '${long}': 1, loss: 0.5 }) + '\\n');`,
      `fs.writeFileSync('m.json', JSON.stringify({ '${long}': 2, nested: { '${'n'.repeat(250)}': 3 }, acc: 1 }));`,
    ].join('\n');
    const repo = await makeRepo({ 'train.js': script, 'mlo.yaml': 'stages:\n  train:\n    cmd: node train.js\n    metrics: [m.json]\n' }, { commit: true });
    const run = await mlo(repo, 'exp', 'run');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /skipped metrics of \$MLO_METRICS_FILE of stage train with an invalid key 'k{40}\.\.\.' \(300 characters\): keys are 1 to 250 characters/,
    );
    // `nested.nnn...` is 257 characters once flattened: the limit applies to the key as stored.
    expect(run.stderr).toMatch(/skipped metrics of m\.json with an invalid key 'k{40}\.\.\.' \(300 characters\): keys are 1 to 250 characters \(and 1 more\)/);
    expect(run.stderr).not.toContain('k'.repeat(41));
    const files = readdirSync(join(repo, '.mlo/tracking/runs'));
    const record = JSON.parse(readFileSync(join(repo, '.mlo/tracking/runs', files[0]), 'utf8'));
    expect(Object.keys(record.metrics).sort()).toEqual(['acc', 'loss']);

    const log = await mlo(repo, 'log', 'metric', long, '1', '--run', files[0].replace(/\.json$/, ''));
    oneError(log, 1, /^error: invalid key 'k{40}\.\.\.' \(300 characters\): keys are 1 to 250 characters/);
  });
});

describe('metric text values', () => {
  it('are cut at 1,024 characters, in the run file, exp run and exp show', async () => {
    const script = [
      "const fs = require('fs');",
      "fs.appendFileSync(process.env.MLO_METRICS_FILE, JSON.stringify({ step: 0, note: 'x'.repeat(200000), loss: 0.5 }) + '\\n');",
      "fs.writeFileSync('m.json', JSON.stringify({ big: 'y'.repeat(100000), acc: 1 }));",
    ].join('\n');
    const repo = await makeRepo({ 'train.js': script, 'mlo.yaml': 'stages:\n  train:\n    cmd: node train.js\n    metrics: [m.json]\n' }, { commit: true });
    const run = await mlo(repo, 'exp', 'run');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.length + run.stderr.length).toBeLessThan(20_000);
    const files = readdirSync(join(repo, '.mlo/tracking/runs'));
    expect(files).toHaveLength(1);
    const record = JSON.parse(readFileSync(join(repo, '.mlo/tracking/runs', files[0]), 'utf8'));
    expect(record.metrics.note.value[0]).toBe(`${'x'.repeat(1024)}... [cut by mlo: 200000 characters]`);
    expect(record.metrics.big.value[0]).toBe(`${'y'.repeat(1024)}... [cut by mlo: 100000 characters]`);
    expect(record.metrics.loss.value[0]).toBe(0.5);

    // A run file someone committed with a longer value is cut when imported.
    record.id = 'aaaaaaaaaaaa';
    record.metrics.note.value[0] = 'z'.repeat(3_000_000);
    writeFileSync(join(repo, '.mlo/tracking/runs/aaaaaaaaaaaa.json'), JSON.stringify(record));
    const show = await mlo(repo, 'exp', 'show', '--json');
    expect(show.exitCode, show.stderr).toBe(0);
    expect(show.stdout.length).toBeLessThan(20_000);
    const runs = json(show).runs as { id: string; metrics: Record<string, unknown> }[];
    expect(runs.find((r) => r.id === 'aaaaaaaaaaaa')?.metrics.note).toBe(`${'z'.repeat(1024)}... [cut by mlo: 3000000 characters]`);
  });
});

describe('mlo init in a cloned .mlo/', () => {
  it('refuses a dangling .mlo/.gitignore link instead of writing through it', async () => {
    const repo = await makeRepo();
    const target = join(tempDir('mlo-victim-'), 'planted');
    rmSync(join(repo, '.mlo/.gitignore'));
    symlinkSync(target, join(repo, '.mlo/.gitignore'));
    oneError(await mlo(repo, 'init'), 1, /^error: \.mlo\/\.gitignore is a symlink to .*planted; mlo does not write or delete through a link/);
    expect(existsSync(target)).toBe(false);
    // Even once confirmed (the user's own link), init does not write through a link to nothing.
    writeFileSync(join(repo, '.mlo/config.local.yaml'), 'safe:\n  links: [.gitignore]\n');
    oneError(await mlo(repo, 'init'), 1, /^error: \.mlo\/\.gitignore is a symlink to a path that does not exist/);
    expect(existsSync(target)).toBe(false);
  });

  it('refuses a dangling .mloignore link at the root', async () => {
    const repo = await makeRepo();
    const target = join(tempDir('mlo-victim-'), 'planted');
    rmSync(join(repo, '.mloignore'));
    symlinkSync(target, join(repo, '.mloignore'));
    oneError(await mlo(repo, 'init'), 1, /^error: \.mloignore is a symlink to a path that does not exist/);
    expect(existsSync(target)).toBe(false);
  });
});

describe('mlo doctor in a repository other commands refuse', () => {
  it('prints its whole report with the problem, and exits 1', async () => {
    const origin = await makeRepo();
    const victim = tempDir('mlo-victim-');
    rmSync(join(origin, '.mlo/tmp'), { recursive: true, force: true });
    symlinkSync(victim, join(origin, '.mlo/tmp'));
    await git(origin, 'add', '-A');
    await git(origin, 'add', '-f', '.mlo/tmp');
    await git(origin, 'commit', '-q', '-m', 'hostile');
    const clone = join(tempDir('mlo-clone-'), 'clone');
    await git(origin, 'clone', '-q', origin, clone);
    const r = await mlo(clone, 'doctor');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^mlo \d/m);
    expect(r.stdout).toMatch(/^problem: \.mlo\/tmp is a symlink to .*\(MLO_UNTRUSTED_PATH\)$/m);
    expect(r.stdout).toMatch(/^to fix: /m);
    const doc = json(await mlo(clone, 'doctor', '--json'));
    expect(doc.repoProblem).toMatchObject({ code: 'MLO_UNTRUSTED_PATH' });
    expect(doc.node).toBe(process.version);
    expect(readdirSync(victim)).toEqual([]);
  });
});
