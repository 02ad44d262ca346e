/**
 * The caches behind a fast no-op `mlo run` (parsed mlo.yaml, params and mlo.lock in .mlo/tmp/parsed/,
 * file hashes in .mlo/tmp/pipeline-files.json) must never hide a change, including an edit that keeps
 * the file's size and puts its mtime back, as an edit within the same mtime tick does.
 */
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exists, json, makeRepo, mlo, read } from '../helpers.js';

const PIPELINE = `stages:
  prepare:
    cmd: cp raw.csv clean.csv && echo prepare >> runs.log
    deps: [raw.csv]
    outs: [clean.csv]
  train:
    cmd: echo "lr=\${lr} $(cat clean.csv)" > model.bin && echo train >> runs.log
    deps: [clean.csv]
    params: [lr]
    outs: [model.bin]
`;

/** A whole second in the past: old enough to be cached, and utimes can set it back exactly. */
const OLD = new Date(Math.floor(Date.now() / 1000) * 1000 - 10_000);

/** Rewrites `rel` in place (same inode) and puts its old mtime back: only its content and ctime change. */
function rewriteKeepingMtime(dir: string, rel: string, text: string): void {
  const file = join(dir, rel);
  expect(readFileSync(file, 'utf8').length).toBe(text.length);
  writeFileSync(file, text);
  utimesSync(file, OLD, OLD);
}

function age(dir: string, ...rels: string[]): void {
  for (const rel of rels) utimesSync(join(dir, rel), OLD, OLD);
}

async function settledRepo() {
  const dir = await makeRepo({ 'mlo.yaml': PIPELINE, 'params.yaml': 'lr: 0.1\n', 'raw.csv': 'a,b\n' });
  age(dir, 'mlo.yaml', 'params.yaml', 'raw.csv');
  expect((await mlo(dir, 'run')).exitCode).toBe(0);
  age(dir, 'mlo.lock', 'clean.csv', 'model.bin');
  // Two no-op runs: the first fills the caches, the second answers from them.
  for (let i = 0; i < 2; i++) {
    const r = await mlo(dir, 'run', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r).stages.map((s: { status: string }) => s.status)).toEqual(['unchanged', 'unchanged']);
  }
  expect(exists(dir, '.mlo/tmp/parsed/mlo.yaml.json')).toBe(true);
  expect(exists(dir, '.mlo/tmp/parsed/params/params.yaml.json')).toBe(true);
  expect(exists(dir, '.mlo/tmp/pipeline-files.json')).toBe(true);
  return dir;
}

const statuses = async (dir: string) => {
  const r = await mlo(dir, 'run', '--json');
  expect(r.exitCode, r.stderr).toBe(0);
  return Object.fromEntries(json(r).stages.map((s: { name: string; status: string }) => [s.name, s.status]));
};

describe('no-op run caches', () => {
  it('notice a params.yaml edit that keeps its size and mtime', async () => {
    const dir = await settledRepo();
    rewriteKeepingMtime(dir, 'params.yaml', 'lr: 0.2\n');
    expect(await statuses(dir)).toEqual({ prepare: 'unchanged', train: 'ran' });
    expect(read(dir, 'model.bin')).toBe('lr=0.2 a,b\n');
  });

  it('notice an mlo.yaml edit that keeps its size and mtime', async () => {
    const dir = await settledRepo();
    rewriteKeepingMtime(dir, 'mlo.yaml', PIPELINE.replace('echo train', 'echo TRAIN'));
    expect(await statuses(dir)).toEqual({ prepare: 'unchanged', train: 'ran' });
    expect(read(dir, 'runs.log')).toContain('TRAIN');
  });

  it('notice an mlo.lock edit that keeps its size and mtime', async () => {
    const dir = await settledRepo();
    const lock = read(dir, 'mlo.lock');
    rewriteKeepingMtime(dir, 'mlo.lock', lock.replace('lr: 0.1', 'lr: 0.3'));
    // The recorded param no longer matches: the run cache knows the lr=0.1 run and restores it.
    expect(await statuses(dir)).toEqual({ prepare: 'unchanged', train: 'restored' });
    expect(read(dir, 'mlo.lock')).toContain('lr: 0.1');
  });

  it('notice a file dep and an out edited after the hashes were cached', async () => {
    const dir = await settledRepo();
    writeFileSync(join(dir, 'model.bin'), 'tampered!!!\n');
    expect(await statuses(dir)).toEqual({ prepare: 'unchanged', train: 'restored' });
    expect(read(dir, 'model.bin')).toBe('lr=0.1 a,b\n');
    writeFileSync(join(dir, 'raw.csv'), 'c,d\n');
    expect(await statuses(dir)).toEqual({ prepare: 'ran', train: 'ran' });
    expect(read(dir, 'model.bin')).toBe('lr=0.1 c,d\n');
  });

  it('keep params that JSON cannot hold (.inf) exact, and stay a no-op', async () => {
    const dir = await makeRepo({
      'mlo.yaml': PIPELINE.replace('params: [lr]', 'params: [lr, limit]'),
      'params.yaml': 'lr: 0.1\nlimit: .inf\n',
      'raw.csv': 'a,b\n',
    });
    age(dir, 'mlo.yaml', 'params.yaml', 'raw.csv');
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    expect(read(dir, 'mlo.lock')).toContain('limit: .inf');
    for (let i = 0; i < 2; i++) expect(await statuses(dir)).toEqual({ prepare: 'unchanged', train: 'unchanged' });
    expect(read(dir, 'mlo.lock')).toContain('limit: .inf');
  });
});
