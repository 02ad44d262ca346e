/**
 * Crash safety: a process killed with SIGKILL at a random moment during add, commit or checkout leaves
 * no partial object in the cache, and the next run completes. And a full disk fails cleanly.
 */
import { execa } from 'execa';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GIT_ENV, MLO_BIN, git, json, makeRepo, mlo, tempDir } from '../helpers.js';

function fillTree(dir: string, seed: number): void {
  // ~2,000 small files and three 8 MiB files: long enough to be killed mid-way.
  let x = seed;
  for (let i = 0; i < 2000; i++) {
    mkdirSync(join(dir, 'data', `d${i % 20}`), { recursive: true });
    x = (x * 1103515245 + 12345) >>> 0;
    writeFileSync(join(dir, 'data', `d${i % 20}`, `f${i}.txt`), `${seed}:${i}:${x}\n`.repeat(1 + (x % 50)));
  }
  for (let i = 0; i < 3; i++) writeFileSync(join(dir, 'data', `big${i}.bin`), Buffer.alloc(8 << 20, seed + i));
}

async function killAfter(cwd: string, ms: number, ...args: string[]): Promise<void> {
  const child = execa(process.execPath, [MLO_BIN, ...args], { cwd, env: GIT_ENV, reject: false });
  await new Promise((r) => setTimeout(r, ms));
  child.kill('SIGKILL');
  await child;
}

describe('SIGKILL at random moments', () => {
  it('add, commit and checkout leave a consistent cache and the next run completes', async () => {
    const dir = await makeRepo({});
    fillTree(dir, 1);
    for (let round = 0; round < 4; round++) {
      await killAfter(dir, 80 + Math.floor(Math.random() * 500), 'add', 'data');
      const f = await mlo(dir, 'fsck', '--json');
      expect(f.exitCode, f.stdout).toBe(0);
    }
    const added = await mlo(dir, 'add', 'data');
    expect(added.exitCode, added.stderr).toBe(0);
    expect(json(await mlo(dir, 'status', '--json')).clean).toBe(true);
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-qm', 'v1');

    // commit of an edited tree, killed part-way
    fillTree(dir, 2);
    for (let round = 0; round < 3; round++) {
      await killAfter(dir, 80 + Math.floor(Math.random() * 500), 'commit');
      expect((await mlo(dir, 'fsck')).exitCode).toBe(0);
    }
    expect((await mlo(dir, 'commit')).exitCode).toBe(0);
    expect(json(await mlo(dir, 'status', '--json')).clean).toBe(true);

    // checkout back to v1, killed part-way: the next checkout finishes the job
    await git(dir, 'checkout', '-q', '--', 'data.mlo');
    for (let round = 0; round < 3; round++) {
      await killAfter(dir, 80 + Math.floor(Math.random() * 400), 'checkout', '--force');
    }
    const co = await mlo(dir, 'checkout', '--force');
    expect(co.exitCode, co.stderr).toBe(0);
    expect(json(await mlo(dir, 'status', '--json')).clean).toBe(true);
    expect(readFileSync(join(dir, 'data/d0/f0.txt'), 'utf8').startsWith('1:0:')).toBe(true);
    expect((await mlo(dir, 'fsck')).exitCode).toBe(0);
  }, 120_000);
});

describe('disk full', () => {
  it('fails with a clear message, writes no partial object and keeps the workspace file', async () => {
    const mnt = tempDir('mlo-full-');
    const mounted = await execa('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mnt], { reject: false });
    if (mounted.exitCode !== 0) {
      console.warn('skipped: cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)');
      return;
    }
    try {
      await git(mnt, 'init', '-q');
      expect((await mlo(mnt, 'init')).exitCode).toBe(0);
      const payload = Buffer.alloc(2 << 20, 9);
      writeFileSync(join(mnt, 'big.bin'), payload);
      const r = await mlo(mnt, 'add', 'big.bin');
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('no space left on device');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(readFileSync(join(mnt, 'big.bin')).equals(payload)).toBe(true);
      rmSync(join(mnt, 'big.bin'));
      const f = await mlo(mnt, 'fsck', '--json');
      expect(json(f).checked).toBe(0);
    } finally {
      await execa('umount', [mnt], { reject: false });
    }
  });
});
