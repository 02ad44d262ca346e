import { describe, expect, it } from 'vitest';
import { buildManifest, parseManifest } from './manifest.js';
import { isSafeRelPath } from '../pointer/schema.js';

const h = (c: string) => c.repeat(64);

describe('directory manifests', () => {
  it('hash the same files to the same manifest whatever the input order', () => {
    const a = buildManifest([
      { path: 'b', hash: h('1'), size: 1 },
      { path: 'a/x', hash: h('2'), size: 2, exec: true },
    ]);
    const b = buildManifest([
      { path: 'a/x', hash: h('2'), size: 2, exec: true },
      { path: 'b', hash: h('1'), size: 1 },
    ]);
    expect(a.hash).toBe(b.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}\.dir$/);
    expect(a).toMatchObject({ size: 3, files: 2 });
    expect(a.bytes.toString()).toBe(`{"schema":1,"entries":[{"path":"a/x","hash":"${h('2')}","size":2,"exec":true},{"path":"b","hash":"${h('1')}","size":1}]}`);
  });

  it('sort by bytes, not locale', () => {
    const m = buildManifest([
      { path: 'a', hash: h('1'), size: 1 },
      { path: 'B', hash: h('1'), size: 1 },
      { path: 'é', hash: h('1'), size: 1 },
    ]);
    expect(parseManifest(m.bytes, m.hash).map((e) => e.path)).toEqual(['B', 'a', 'é']);
  });

  it('refuse bytes that do not match the hash', () => {
    const m = buildManifest([{ path: 'a', hash: h('1'), size: 1 }]);
    const tampered = Buffer.from(m.bytes.toString().replace('"size":1', '"size":2'));
    expect(() => parseManifest(tampered, m.hash)).toThrow(/corrupt/);
  });
});

describe('path safety', () => {
  it.each([
    ['data/a.csv', true],
    ['a', true],
    ['.hidden/x', true],
    ['../x', false],
    ['a/../../x', false],
    ['/etc/passwd', false],
    ['C:/x', false],
    ['a\\b', false],
    ['', false],
    ['a//b', false],
    ['./a', false],
  ])('%s -> %s', (p, ok) => expect(isSafeRelPath(p)).toBe(ok));
});
