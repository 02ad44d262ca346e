import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEMP_PREFIX } from '../../../base/fs.js';
import { nativeWalkAvailable } from './native-walk.js';
import { loadIgnore, walkDir } from './walk.js';

describe('native walker', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'mlo-native-walk-'));
    const data = join(root, 'data');
    for (let d = 0; d < 5; d++) {
      mkdirSync(join(data, `d${d}`, 'sub', '__pycache__'), { recursive: true });
      for (let f = 0; f < 300; f++) writeFileSync(join(data, `d${d}`, `f${f}.bin`), Buffer.alloc(f));
      writeFileSync(join(data, `d${d}`, 'sub', 'x.pyc'), 'ignored');
      writeFileSync(join(data, `d${d}`, 'sub', '__pycache__', 'y.txt'), 'ignored folder');
      writeFileSync(join(data, `d${d}`, 'sub', 'ünïcode naïve.txt'), 'kept');
      writeFileSync(join(data, `d${d}`, `${TEMP_PREFIX}123`), 'temp');
    }
    mkdirSync(join(data, 'empty'));
    // More folders than the walker keeps open (256): the rest are stat'ed by full path.
    for (let d = 0; d < 300; d++) {
      const deep = join(data, 'many', `m${d}`, 'x', 'y');
      mkdirSync(deep, { recursive: true });
      writeFileSync(join(deep, 'leaf.txt'), `${d}`);
      writeFileSync(join(data, 'many', `m${d}`, 'top.txt'), `${d}`);
    }
    writeFileSync(join(data, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    symlinkSync('run.sh', join(data, 'link'));
    writeFileSync(join(root, '.mloignore'), '*.pyc\n__pycache__/\n');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.skipIf(!nativeWalkAvailable())('finds exactly the files, stats and symlinks the JavaScript walk finds', () => {
    const native = walkDir(join(root, 'data'), 'data', loadIgnore(root));
    const js = walkDir(join(root, 'data'), 'data', loadIgnore(root), { native: false });
    expect(native.files.length).toBe(5 * 301 + 1 + 600);
    // Node sorts each folder's entries; the native walker keeps readdir order. Same set, same stats.
    const byPath = (w: typeof js) => new Map(w.files.map((f) => [f.rel, f.stat]));
    expect([...byPath(native)].sort()).toEqual([...byPath(js)].sort());
    expect(native.symlinks.sort()).toEqual(js.symlinks.sort());
    expect(native.files.find((f) => f.rel === 'run.sh')!.stat.mode & 0o111).toBe(0o111);
  });

  it('reports whether it is built, so a missing compiler is visible in tests', () => {
    if (!nativeWalkAvailable()) console.warn('native walker not built (no C compiler?): only the JavaScript walk was tested');
    expect(typeof nativeWalkAvailable()).toBe('boolean');
  });
});
