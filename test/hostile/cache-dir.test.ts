/**
 * Hostile repositories, item 1 of issue 15: a clone must not make mlo write or delete outside it.
 * Each attacker repository is built and committed as an attacker would (a `cache.dir` in the committed
 * config, symlinks in `.mlo/` added with `git add -f`), cloned, and driven through the commands that
 * touch the cache. A victim folder beside it must come out byte for byte and stat for stat the same.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, makeRepo, mlo, tempDir, type MloResult } from '../helpers.js';

const TWO_DAYS_AGO = new Date(Date.now() - 2 * 24 * 3600 * 1000);
/** A name gc would take for an unreferenced object if the victim folder were the cache. */
const OBJECT_NAME = `ab/${'c'.repeat(62)}`;

function expectExit(r: MloResult, code: number): MloResult {
  if (r.exitCode !== code) throw new Error(`expected exit ${code}, got ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}

/** A folder an attacker would like emptied: an old file in tmp/keep/ (the old cleanup's prey) and an object-like file (gc's). */
function makeVictim(): string {
  const victim = tempDir('mlo-victim-');
  for (const [rel, text] of [
    ['tmp/keep/file', 'precious\n'],
    ['tmp/old-note', 'also precious\n'],
    [OBJECT_NAME, 'not an object\n'],
  ]) {
    mkdirSync(join(victim, rel, '..'), { recursive: true });
    writeFileSync(join(victim, rel), text);
    utimesSync(join(victim, rel), TWO_DAYS_AGO, TWO_DAYS_AGO);
  }
  for (const d of ['tmp/keep', 'tmp', 'ab']) utimesSync(join(victim, d), TWO_DAYS_AGO, TWO_DAYS_AGO);
  return victim;
}

/** Every entry under `dir` with its type, size, mtime and content hash: any write or delete shows. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      if (st.isDirectory()) {
        out.push(`${r}/ ${st.mtimeMs}`);
        walk(r);
      } else if (st.isSymbolicLink()) {
        out.push(`${r} -> ${readlinkSync(join(dir, r))}`);
      } else {
        out.push(
          `${r} ${st.size} ${st.mtimeMs} ${createHash('sha256')
            .update(readFileSync(join(dir, r)))
            .digest('hex')}`,
        );
      }
    }
  };
  walk('');
  return out;
}

/**
 * An ordinary repository with data pushed to a folder remote (committed as `store`), then changed by
 * `attack` and committed; returns a fresh clone of it.
 */
async function clonedAttack(attack: (origin: string) => string[] | undefined): Promise<string> {
  const remote = tempDir('mlo-remote-');
  const origin = await makeRepo({ 'data/a.csv': 'x,y\n1,2\n' });
  expectExit(await mlo(origin, 'remote', 'add', '--default', 'store', remote), 0);
  expectExit(await mlo(origin, 'add', 'data/a.csv'), 0);
  expectExit(await mlo(origin, 'push'), 0);
  const forced = attack(origin) ?? [];
  await git(origin, 'add', '-A');
  if (forced.length) await git(origin, 'add', '-f', ...forced);
  await git(origin, 'commit', '-q', '-m', 'hostile');
  const clone = join(tempDir('mlo-clone-'), 'clone');
  await git(origin, 'clone', '-q', origin, clone);
  return clone;
}

function setCommittedCacheDir(origin: string, dir: string): void {
  const file = join(origin, '.mlo/config.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^cache:\n/m, `cache:\n  dir: ${JSON.stringify(dir)}\n`));
}

/** One clear refusal: exit 1, the code and the offending setting named, a hint, no stack trace. */
function expectRefused(r: MloResult, names: string): void {
  expectExit(r, 1);
  expect(r.stderr).toContain(names);
  expect(r.stderr).toMatch(/config\.local\.yaml|remove/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toContain('bug in mlo');
}

/** Each command that reads the cache: add, checkout, fetch, pull and gc. */
const COMMANDS: [string, string[]][] = [
  ['checkout', ['checkout']],
  ['add', ['add', 'data/b.csv']],
  ['fetch', ['fetch']],
  ['pull', ['pull']],
  ['gc', ['gc', '--workspace']],
];

async function driveEach(clone: string, victim: string, names: string, commands = COMMANDS): Promise<void> {
  writeFileSync(join(clone, 'data/b.csv'), 'new\n');
  const before = snapshot(victim);
  for (const [, args] of commands) {
    const r = await mlo(clone, ...args);
    expect(snapshot(victim), `mlo ${args.join(' ')} changed the victim folder`).toEqual(before);
    expectRefused(r, names);
  }
}

describe('hostile repository: settings that point outside it', () => {
  it('refuses a committed cache.dir outside the repository (checkout, add, fetch, pull, gc)', async () => {
    const victim = makeVictim();
    const clone = await clonedAttack((origin) => {
      setCommittedCacheDir(origin, victim);
      return undefined;
    });
    await driveEach(clone, victim, 'cache.dir');
    const r = await mlo(clone, 'checkout', '--json');
    expect(JSON.parse(r.stdout).error.code).toBe('MLO_UNTRUSTED_PATH');
  });

  it('refuses a committed relative cache.dir that leaves through a committed symlink', async () => {
    const victim = makeVictim();
    const clone = await clonedAttack((origin) => {
      symlinkSync(victim, join(origin, 'innocent'));
      setCommittedCacheDir(origin, '../innocent');
      return undefined;
    });
    await driveEach(clone, victim, 'cache.dir');
  });

  it('refuses a committed symlink at .mlo/cache', async () => {
    const victim = makeVictim();
    const clone = await clonedAttack((origin) => {
      replaceWithLink(origin, '.mlo/cache', victim);
      return ['.mlo/cache'];
    });
    expect(lstatSync(join(clone, '.mlo/cache')).isSymbolicLink()).toBe(true);
    await driveEach(clone, victim, '.mlo/cache');
  });

  it('refuses a committed symlink at .mlo/tmp', async () => {
    const victim = makeVictim();
    const clone = await clonedAttack((origin) => {
      replaceWithLink(origin, '.mlo/tmp', join(victim, 'tmp'));
      return ['.mlo/tmp'];
    });
    await driveEach(clone, victim, '.mlo/tmp');
  });

  it('refuses a committed symlink inside the cache (.mlo/cache/tmp) and in the run files folder', async () => {
    const victim = makeVictim();
    const clone = await clonedAttack((origin) => {
      replaceWithLink(origin, '.mlo/cache/tmp', join(victim, 'tmp'));
      return ['.mlo/cache/tmp'];
    });
    await driveEach(clone, victim, '.mlo/cache/tmp');

    const victim2 = makeVictim();
    const clone2 = await clonedAttack((origin) => {
      replaceWithLink(origin, '.mlo/tracking/runs', victim2);
      return ['.mlo/tracking/runs'];
    });
    await driveEach(clone2, victim2, '.mlo/tracking/runs', [['checkout', ['checkout']]]);
  });

  it('does not let the committed config confirm a link (safe.links is read from the local config only)', async () => {
    const addSafe = (origin: string): void => {
      const file = join(origin, '.mlo/config.yaml');
      writeFileSync(file, `${readFileSync(file, 'utf8')}safe:\n  links: [tmp]\n`);
    };
    const victim = makeVictim();
    const clone = await clonedAttack((origin) => {
      replaceWithLink(origin, '.mlo/tmp', join(victim, 'tmp'));
      addSafe(origin);
      return ['.mlo/tmp'];
    });
    await driveEach(clone, victim, '.mlo/tmp', [['checkout', ['checkout']]]);

    const plain = await clonedAttack((origin) => {
      addSafe(origin);
      return undefined;
    });
    expectRefused(await mlo(plain, 'status'), 'safe.links');
  });
});

describe('a cache outside the repository that the user set up', () => {
  it('is used when confirmed in .mlo/config.local.yaml, and its cleanup removes only mlo temp files', async () => {
    const shared = makeVictim();
    const stale = join(shared, 'tmp', '12345-abcdefgh-0');
    writeFileSync(stale, 'half-written object of a killed mlo\n');
    utimesSync(stale, TWO_DAYS_AGO, TWO_DAYS_AGO);
    const clone = await clonedAttack((origin) => {
      setCommittedCacheDir(origin, shared);
      return undefined;
    });
    expectExit(await mlo(clone, 'checkout'), 1);
    writeFileSync(join(clone, '.mlo/config.local.yaml'), `cache:\n  dir: ${JSON.stringify(shared)}\n`);
    expectExit(await mlo(clone, 'pull'), 0);
    expect(readFileSync(join(clone, 'data/a.csv'), 'utf8')).toBe('x,y\n1,2\n');
    expect(readdirSync(shared).some((n) => /^[0-9a-f]{2}$/.test(n) && n !== 'ab')).toBe(true);
    expect(readFileSync(join(shared, 'tmp/keep/file'), 'utf8')).toBe('precious\n');
    expect(readFileSync(join(shared, 'tmp/old-note'), 'utf8')).toBe('also precious\n');
    expect(() => lstatSync(stale)).toThrow();
    writeFileSync(join(clone, 'data/b.csv'), 'new\n');
    expectExit(await mlo(clone, 'add', 'data/b.csv'), 0);
    expectExit(await mlo(clone, 'gc', '--workspace'), 0);
    expect(readFileSync(join(shared, 'tmp/keep/file'), 'utf8')).toBe('precious\n');
  });

  it('uses a .mlo/cache symlink the user made once safe.links lists it', async () => {
    const shared = tempDir('mlo-shared-');
    const clone = await clonedAttack(() => undefined);
    symlinkSync(shared, join(clone, '.mlo/cache'));
    const refused = await mlo(clone, 'pull');
    expectRefused(refused, '.mlo/cache');
    expect(readdirSync(shared)).toEqual([]);
    writeFileSync(join(clone, '.mlo/config.local.yaml'), 'safe:\n  links: [cache]\n');
    expectExit(await mlo(clone, 'pull'), 0);
    expect(readFileSync(join(clone, 'data/a.csv'), 'utf8')).toBe('x,y\n1,2\n');
    expect(readdirSync(shared).length).toBeGreaterThan(0);
  });
});

/** Puts a symlink to `target` where the attacker's `mlo init` made a folder (the objects are on the remote). */
function replaceWithLink(origin: string, rel: string, target: string): void {
  rmSync(join(origin, rel), { recursive: true, force: true });
  mkdirSync(join(origin, rel, '..'), { recursive: true });
  symlinkSync(target, join(origin, rel));
}
