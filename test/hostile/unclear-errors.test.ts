/**
 * Hostile repositories, item 6 of issue 15: what a clone commits must fail with one clear error naming
 * the file, never "this is a bug in mlo". Each attacker repository is committed and cloned; a victim
 * folder beside it must come out unchanged.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, makeRepo, mlo, tempDir, type MloResult, type Tree } from '../helpers.js';

/** Four levels of ten aliases each: 10^4 expansions from a few hundred bytes (a small "billion laughs"). */
const ALIAS_BOMB = [
  'a: &a [x, x, x, x, x, x, x, x, x, x]',
  ...['b', 'c', 'd'].map((n, i) => `${n}: &${n} [${Array(10).fill(`*${'abc'[i]}`).join(', ')}]`),
  '',
].join('\n');

const PIPELINE = 'stages:\n  train:\n    cmd: echo trained\n    params: [a]\n';

/** Commits `tree` (plus `force`, added past .gitignore) in an attacker's repository and clones it. */
async function cloneOf(tree: Tree, force: Tree = {}): Promise<string> {
  const origin = await makeRepo(tree);
  for (const [rel, text] of Object.entries(force)) {
    mkdirSync(join(origin, rel, '..'), { recursive: true });
    writeFileSync(join(origin, rel), text);
    await git(origin, 'add', '-f', rel);
  }
  await git(origin, 'add', '-A');
  await git(origin, 'commit', '-q', '-m', 'attack');
  const clone = join(tempDir('mlo-clone-'), 'repo');
  await git(origin, 'clone', '-q', origin, clone);
  return clone;
}

function victim(): { check: () => void } {
  const dir = tempDir('mlo-victim-');
  writeFileSync(join(dir, 'precious.txt'), 'precious\n');
  const list = () => readdirSync(dir, { recursive: true, withFileTypes: false }).sort();
  const before = list();
  return {
    check: () => {
      expect(list()).toEqual(before);
      expect(readFileSync(join(dir, 'precious.txt'), 'utf8')).toBe('precious\n');
    },
  };
}

/** One `error:` line (plus its hint), the expected text in it, and no "bug" or stack trace. */
function expectClearError(r: MloResult, exit: number, message: RegExp): void {
  const detail = `exit ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect(r.exitCode, detail).toBe(exit);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
  expect(errors, detail).toHaveLength(1);
  expect(errors[0], detail).toMatch(message);
  expect(r.stderr, detail).not.toMatch(/bug in mlo|\n\s+at /);
}

describe('a YAML alias bomb names its file', () => {
  it('in mlo.yaml, under mlo run', async () => {
    const v = victim();
    const clone = await cloneOf({ 'mlo.yaml': ALIAS_BOMB });
    expectClearError(await mlo(clone, 'run'), 1, /^error: mlo\.yaml: too many YAML alias expansions/);
    v.check();
  });

  it('in .mlo/config.yaml, under status (and as MLO_BAD_YAML under --json)', async () => {
    const clone = await cloneOf({}, { '.mlo/config.yaml': ALIAS_BOMB });
    expectClearError(await mlo(clone, 'status'), 1, /^error: \.mlo\/config\.yaml: too many YAML alias expansions/);
    const r = await mlo(clone, 'status', '--json');
    expect(JSON.parse(r.stdout).error.code).toBe('MLO_BAD_YAML');
  });

  it('in a pointer file, under status and checkout', async () => {
    const clone = await cloneOf({ 'data.csv.mlo': ALIAS_BOMB });
    expectClearError(await mlo(clone, 'status'), 1, /^error: data\.csv\.mlo: too many YAML alias expansions/);
    expectClearError(await mlo(clone, 'checkout'), 1, /^error: data\.csv\.mlo: too many YAML alias expansions/);
  });

  it('in a params file, under params diff and exp run -S', async () => {
    const clone = await cloneOf({ 'mlo.yaml': PIPELINE, 'params.yaml': ALIAS_BOMB });
    expectClearError(await mlo(clone, 'params', 'diff'), 1, /^error: params\.yaml: too many YAML alias expansions/);
    expectClearError(await mlo(clone, 'exp', 'run', '-S', 'a=1'), 1, /^error: params\.yaml: too many YAML alias expansions/);
  });
});

describe('.mlo/tracking.db', () => {
  it('as a committed folder is named, and left in place', async () => {
    const v = victim();
    const clone = await cloneOf({}, { '.mlo/tracking.db/keep': 'not a database\n' });
    expectClearError(await mlo(clone, 'exp', 'show'), 1, /^error: \.mlo\/tracking\.db is a folder, not a SQLite database file/);
    expect(readFileSync(join(clone, '.mlo/tracking.db/keep'), 'utf8')).toBe('not a database\n');
    v.check();
  });
});

describe('credentials in a remote URL', () => {
  const config = (endpoint: string) => `schema: 1\nremotes:\n  store:\n    url: s3://bucket/prefix\n    endpoint: ${endpoint}\ncore:\n  remote: store\n`;

  it('in the committed config are refused, and the password is never printed', async () => {
    const clone = await cloneOf({}, { '.mlo/config.yaml': config('http://alice:hunter2@127.0.0.1:9') });
    for (const args of [['remote', 'list'], ['push'], ['status']]) {
      const r = await mlo(clone, ...args);
      expectClearError(r, 1, /^error: \.mlo\/config\.yaml: remotes\.store\.endpoint: credentials in a URL/);
      expect(r.stdout + r.stderr).not.toContain('hunter2');
    }
  });

  it('are not written to the committed config; --local keeps them, and list redacts them', async () => {
    const repo = await makeRepo();
    expect((await mlo(repo, 'remote', 'add', 'store', 's3://bucket/prefix')).exitCode).toBe(0);
    const before = readFileSync(join(repo, '.mlo/config.yaml'), 'utf8');
    const r = await mlo(repo, 'remote', 'modify', 'store', 'endpoint', 'http://alice:hunter2@127.0.0.1:9');
    expectClearError(r, 2, /^error: refusing to write a URL with credentials/);
    expect(readFileSync(join(repo, '.mlo/config.yaml'), 'utf8')).toBe(before);

    expect((await mlo(repo, 'remote', 'modify', '--local', 'store', 'endpoint', 'http://alice:hunter2@127.0.0.1:9')).exitCode).toBe(0);
    const list = await mlo(repo, 'remote', 'list');
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toContain('endpoint=http://***@127.0.0.1:9');
    expect(list.stdout + list.stderr).not.toContain('hunter2');
    const listed = await mlo(repo, 'remote', 'list', '--json');
    expect(listed.stdout).not.toContain('hunter2');
  });
});
