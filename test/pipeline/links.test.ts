/**
 * Stage outs follow `cache.type` exactly as `mlo add`-ed paths do: with hardlink or symlink the
 * workspace file is the read-only cache object itself (no second copy), outs kept in git stay plain
 * files, a persistent out is copied before the command appends to it, and later runs, `status` and
 * `checkout` see the outs as unchanged.
 */
import { lstatSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, makeRepo, mlo, read } from '../helpers.js';

const PIPELINE = `stages:
  build:
    cmd: mkdir -p out/sub && cp raw.txt out/a.txt && cp raw.txt out/sub/b.txt && cat raw.txt raw.txt > model.bin && echo '{"n":1}' > metrics.json
    deps: [raw.txt]
    outs: [out, model.bin]
    metrics:
      - metrics.json: {cache: false}
  log:
    cmd: cat raw.txt >> history.log
    deps: [raw.txt]
    outs:
      - history.log: {persist: true}
`;

type LinkType = 'hardlink' | 'symlink' | 'default';

async function pipelineRepo(type: LinkType) {
  const dir = await makeRepo({ 'mlo.yaml': PIPELINE, 'raw.txt': 'one\n' });
  if (type !== 'default') writeFileSync(join(dir, '.mlo/config.local.yaml'), `cache:\n  type: ${type}\n`);
  const r = await mlo(dir, 'run', '--json');
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

function lockOuts(dir: string): Map<string, string> {
  const outs = new Map<string, string>();
  for (const m of read(dir, 'mlo.lock').matchAll(/- path: (\S+)\n\s+hash: (\S+)/g)) outs.set(m[1], m[2]);
  return outs;
}

const objectOf = (dir: string, hash: string) => join(dir, '.mlo/cache', hash.slice(0, 2), hash.slice(2));

async function expectSettled(dir: string) {
  const run = await mlo(dir, 'run', '--json');
  expect(run.exitCode, run.stderr).toBe(0);
  expect(json(run).stages.map((s: { status: string }) => s.status)).toEqual(['unchanged', 'unchanged']);
  const status = await mlo(dir, 'status', '--json');
  expect(status.exitCode, status.stderr).toBe(0);
  expect(JSON.stringify(json(status))).not.toMatch(/"(modified|deleted|changed)":\s*(true|\[\s*")/);
  const checkout = await mlo(dir, 'checkout', '--json');
  expect(checkout.exitCode, checkout.stderr).toBe(0);
  expect(json(checkout)).toMatchObject({ added: [], modified: [], deleted: [] });
}

describe('stage outs and cache.type', () => {
  it('hardlink: cached outs share the read-only object; metrics stay plain files; runs, status and checkout see no change', async () => {
    const dir = await pipelineRepo('hardlink');
    const lock = lockOuts(dir);
    const fileHash = lock.get('model.bin')!;
    for (const rel of ['model.bin', 'out/a.txt', 'out/sub/b.txt', 'history.log']) {
      const st = statSync(join(dir, rel));
      expect(st.mode & 0o222, rel).toBe(0);
      expect(st.nlink, rel).toBeGreaterThan(1);
    }
    expect(statSync(join(dir, 'model.bin')).ino).toBe(statSync(objectOf(dir, fileHash)).ino);
    // out/a.txt and out/sub/b.txt hold the same bytes: one object, one inode.
    expect(statSync(join(dir, 'out/a.txt')).ino).toBe(statSync(join(dir, 'out/sub/b.txt')).ino);
    const metrics = statSync(join(dir, 'metrics.json'));
    expect(metrics.nlink).toBe(1);
    expect(metrics.mode & 0o200).not.toBe(0);
    if (process.getuid?.() !== 0) expect(() => writeFileSync(join(dir, 'model.bin'), 'edit')).toThrow(/EACCES|permission/);
    await expectSettled(dir);
  });

  it('hardlink: a persistent out is copied before the command appends to it, so the cache keeps its bytes', async () => {
    const dir = await pipelineRepo('hardlink');
    const first = lockOuts(dir).get('history.log')!;
    writeFileSync(join(dir, 'raw.txt'), 'two\n');
    const r = await mlo(dir, 'run', 'log', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(read(dir, 'history.log')).toBe('one\ntwo\n');
    // The first version's object still holds the first version (root could write through the link).
    expect(readFileSync(objectOf(dir, first), 'utf8')).toBe('one\n');
    const second = lockOuts(dir).get('history.log')!;
    expect(statSync(join(dir, 'history.log')).ino).toBe(statSync(objectOf(dir, second)).ino);
    const fsck = await mlo(dir, 'fsck', '--json');
    expect(fsck.exitCode, fsck.stdout + fsck.stderr).toBe(0);
  });

  it('hardlink: an edited out is restored from the cache, linked again', async () => {
    const dir = await pipelineRepo('hardlink');
    const hash = lockOuts(dir).get('model.bin')!;
    // Replace (not edit in place) the out, as an editor that writes a new file does.
    const abs = join(dir, 'model.bin');
    const { rmSync } = await import('node:fs');
    rmSync(abs);
    writeFileSync(abs, 'changed\n');
    const r = await mlo(dir, 'run', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r).stages[0]).toMatchObject({ status: 'restored', restoredFrom: 'lock' });
    expect(statSync(abs).ino).toBe(statSync(objectOf(dir, hash)).ino);
    await expectSettled(dir);
  });

  it('symlink: cached outs are links to the read-only objects; metrics stay plain files', async () => {
    const dir = await pipelineRepo('symlink');
    const lock = lockOuts(dir);
    const link = readlinkSync(join(dir, 'model.bin'));
    expect(link).toBe(objectOf(dir, lock.get('model.bin')!));
    expect(lstatSync(join(dir, 'out/sub/b.txt')).isSymbolicLink()).toBe(true);
    expect(statSync(join(dir, 'out/sub/b.txt')).mode & 0o222).toBe(0);
    expect(lstatSync(join(dir, 'metrics.json')).isFile()).toBe(true);
    expect(read(dir, 'out/a.txt')).toBe('one\n');
  });

  it('symlink: a later run, status and checkout see the linked outs as unchanged', async () => {
    const dir = await pipelineRepo('symlink');
    await expectSettled(dir);
    // An out replaced by a regular file with other bytes is a change, and the next run rebuilds it.
    const model = join(dir, 'model.bin');
    rmSync(model);
    writeFileSync(model, 'edited\n');
    const status = json(await mlo(dir, 'status', '--json'));
    expect(JSON.stringify(status)).toContain('model.bin');
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    expect(lstatSync(model).isSymbolicLink()).toBe(true);
    await expectSettled(dir);
  });

  it('default (reflink, copy): outs are independent writable files; no-op run, status and checkout', async () => {
    const dir = await pipelineRepo('default');
    const hash = lockOuts(dir).get('model.bin')!;
    const st = statSync(join(dir, 'model.bin'));
    expect(st.ino).not.toBe(statSync(objectOf(dir, hash)).ino);
    expect(st.nlink).toBe(1);
    expect(st.mode & 0o200).not.toBe(0);
    await expectSettled(dir);
  });
});
