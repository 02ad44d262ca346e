import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RACY_MS } from '../../base/fs.js';
import { ParamsReader, jsonSafe } from './params.js';
import { readCached, readThroughCache } from '../repo/parsecache.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function home() {
  const root = mkdtempSync(join(tmpdir(), 'mlo-parsecache-'));
  dirs.push(root);
  return { root, tmpDir: join(root, '.mlo', 'tmp') };
}

/** An mtime well past the racy window, on a whole second so utimes can put it back exactly. */
const OLD = new Date(Math.floor(Date.now() / 1000) * 1000 - 10_000);

describe('parse cache', () => {
  it('reuses the value while the file is unchanged, and notices an in-place rewrite that restores the mtime', () => {
    const h = home();
    const file = join(h.root, 'p.yaml');
    writeFileSync(file, 'lr: 1\n');
    utimesSync(file, OLD, OLD);
    let parses = 0;
    const read = () => readThroughCache(h, 'p', () => ({ value: `parse ${++parses}`, inputs: ['p.yaml'] }));
    expect(read()).toBe('parse 1');
    expect(read()).toBe('parse 1');
    // Same inode, size and mtime: only the ctime tells the edit apart, as in git's index.
    writeFileSync(file, 'lr: 2\n');
    utimesSync(file, OLD, OLD);
    expect(statSync(file).mtimeMs).toBe(OLD.getTime());
    expect(read()).toBe('parse 2');
  });

  it('caches nothing when an input was modified within RACY_MS of the parse', () => {
    const h = home();
    writeFileSync(join(h.root, 'p.yaml'), 'lr: 1\n');
    expect(readThroughCache(h, 'p', () => ({ value: 1, inputs: ['p.yaml'] }))).toBe(1);
    expect(Date.now() - statSync(join(h.root, 'p.yaml')).mtimeMs).toBeLessThan(RACY_MS * 20);
    expect(readCached(h, 'p')).toBeUndefined();
  });

  it('treats a file that appears as a change', () => {
    const h = home();
    expect(readThroughCache(h, 'p', () => ({ value: 'none', inputs: ['p.yaml'] }))).toBe('none');
    expect(readCached(h, 'p')).toBe('none');
    writeFileSync(join(h.root, 'p.yaml'), 'x: 1\n');
    expect(readCached(h, 'p')).toBeUndefined();
  });

  it('keeps params files, and parses again those JSON cannot hold exactly', () => {
    const h = home();
    writeFileSync(join(h.root, 'params.yaml'), 'lr: 0.1\nnested: {a: [1, 2]}\n');
    writeFileSync(join(h.root, 'inf.yaml'), 'limit: .inf\n');
    utimesSync(join(h.root, 'params.yaml'), OLD, OLD);
    utimesSync(join(h.root, 'inf.yaml'), OLD, OLD);
    for (let i = 0; i < 2; i++) {
      const reader = new ParamsReader(h.root, h);
      expect(reader.read('params.yaml')).toEqual({ lr: 0.1, nested: { a: [1, 2] } });
      expect(reader.read('inf.yaml')).toEqual({ limit: Infinity });
      expect(reader.read('missing.yaml')).toBeUndefined();
    }
    expect(readCached(h, 'params/params.yaml')).toEqual({ value: { lr: 0.1, nested: { a: [1, 2] } } });
    expect(readCached(h, 'params/inf.yaml')).toBeUndefined();
  });
});

describe('jsonSafe', () => {
  it('accepts what JSON round-trips and refuses the rest', () => {
    expect(jsonSafe({ a: [1, 'x', null, true, { b: 2.5 }] })).toBe(true);
    expect(jsonSafe({ a: Infinity })).toBe(false);
    expect(jsonSafe({ a: NaN })).toBe(false);
    expect(jsonSafe([undefined])).toBe(false);
    expect(jsonSafe({ a: new Date() })).toBe(false);
    expect(jsonSafe({ a: 10n })).toBe(false);
  });
});
