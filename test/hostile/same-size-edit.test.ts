// An edit that keeps a file's size and mtime (same-size bytes written in place, then the old mtime put
// back, as `touch -r`, `rsync -t` or a careful attacker do) must still be seen: ctime cannot be put
// back. `mlo status` reports it and `mlo checkout` of another revision refuses to overwrite it.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, makeRepo, mlo, mloWith, tempDir } from '../helpers.js';

async function ok(dir: string, ...args: string[]) {
  const r = await mlo(dir, ...args);
  expect(r.exitCode, `mlo ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

async function commitAll(dir: string, message: string) {
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', message);
}

/**
 * Overwrites `rel` in place with bytes of the same length, then restores its mtime (to the
 * nanosecond, from a reference copy, as `touch -r` does): size, mtime and inode are as before.
 */
function sameSizeEdit(dir: string, rel: string, content: string): void {
  const file = join(dir, rel);
  const before = statSync(file, { bigint: true });
  expect(Buffer.byteLength(content)).toBe(Number(before.size));
  const ref = join(tempDir('mlo-ref-'), 'ref');
  execFileSync('cp', ['-p', file, ref]);
  writeFileSync(file, content);
  execFileSync('touch', ['-m', '-r', ref, file]);
  const after = statSync(file, { bigint: true });
  expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);
}

/** A repository whose branch `other` holds other versions of a tracked file and a tracked folder. */
async function twoRevisions(): Promise<string> {
  const dir = await makeRepo({ 'model.bin': 'weights-v1', 'data/a.csv': 'a,1\n', 'data/sub/b.csv': 'b,1\n' });
  await ok(dir, 'add', 'model.bin', 'data');
  await commitAll(dir, 'v1');
  await git(dir, 'checkout', '-q', '-b', 'other');
  writeFileSync(join(dir, 'model.bin'), 'weights-v2');
  writeFileSync(join(dir, 'data/sub/b.csv'), 'b,2\n');
  await ok(dir, 'commit');
  await commitAll(dir, 'v2');
  await git(dir, 'checkout', '-q', 'main');
  await ok(dir, 'checkout');
  return dir;
}

/** Files older than the racy window, so the state database and the snapshots trust their stats. */
function age(dir: string, ...rels: string[]): void {
  for (const rel of rels) execFileSync('touch', ['-m', '-d', '@1700000000', join(dir, rel)]);
}

async function statusOf(dir: string) {
  const r = await mlo(dir, 'status', '--json');
  return json<{ clean: boolean; entries: { path: string; status: string; modified: string[] }[] }>(r);
}

describe('an edit that keeps size and mtime', () => {
  for (const primed of [false, true]) {
    const when = primed ? 'after a status filled the state database and snapshots' : 'right after checkout wrote the files';
    it(`of a tracked file is reported and never overwritten (${when})`, async () => {
      const dir = await twoRevisions();
      if (primed) {
        age(dir, 'model.bin', 'data/a.csv', 'data/sub/b.csv');
        expect((await statusOf(dir)).clean).toBe(true);
        expect((await statusOf(dir)).clean).toBe(true);
      }
      sameSizeEdit(dir, 'model.bin', 'weights-ME');

      const status = await statusOf(dir);
      expect(status.clean).toBe(false);
      expect(status.entries.find((e) => e.path === 'model.bin')).toMatchObject({ status: 'modified' });

      await git(dir, 'checkout', '-q', 'other');
      const refused = await mlo(dir, 'checkout', '--json');
      expect(refused.exitCode).toBe(1);
      expect(json(refused).error).toMatchObject({ code: 'MLO_WOULD_LOSE_DATA' });
      expect(json(refused).error.message).toContain('model.bin');
      expect(readFileSync(join(dir, 'model.bin'), 'utf8')).toBe('weights-ME');
      const plain = await mlo(dir, 'checkout');
      expect(plain.exitCode).toBe(1);
      expect(plain.stderr.trim().split('\n')[0]).toMatch(/model\.bin/);
      expect(plain.stderr).not.toMatch(/\n\s+at /);

      await ok(dir, 'checkout', '--force');
      expect(readFileSync(join(dir, 'model.bin'), 'utf8')).toBe('weights-v2');
    });

    it(`of a file inside a tracked folder is reported and never overwritten (${when})`, async () => {
      const dir = await twoRevisions();
      if (primed) {
        age(dir, 'model.bin', 'data/a.csv', 'data/sub/b.csv');
        expect((await statusOf(dir)).clean).toBe(true);
        expect((await statusOf(dir)).clean).toBe(true);
      }
      sameSizeEdit(dir, 'data/sub/b.csv', 'b,X\n');

      const status = await statusOf(dir);
      expect(status.clean).toBe(false);
      expect(status.entries.find((e) => e.path === 'data')).toMatchObject({ status: 'modified', modified: ['data/sub/b.csv'] });

      await git(dir, 'checkout', '-q', 'other');
      const refused = await mlo(dir, 'checkout', '--json');
      expect(refused.exitCode).toBe(1);
      expect(json(refused).error).toMatchObject({ code: 'MLO_WOULD_LOSE_DATA' });
      expect(json(refused).error.message).toContain('data/sub/b.csv');
      expect(readFileSync(join(dir, 'data/sub/b.csv'), 'utf8')).toBe('b,X\n');

      await ok(dir, 'checkout', '--force');
      expect(readFileSync(join(dir, 'data/sub/b.csv'), 'utf8')).toBe('b,2\n');
    });
  }

  it('is seen by the JavaScript walk as well as the native one', async () => {
    const dir = await twoRevisions();
    age(dir, 'data/a.csv', 'data/sub/b.csv');
    expect((await statusOf(dir)).clean).toBe(true);
    sameSizeEdit(dir, 'data/a.csv', 'a,X\n');
    const r = await mloWith({ cwd: dir, env: { MLO_NATIVE: '0' } }, 'status', '--json');
    expect(json(r).entries.find((e: { path: string }) => e.path === 'data')).toMatchObject({ status: 'modified', modified: ['data/a.csv'] });
  });
});
