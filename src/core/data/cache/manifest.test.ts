import { describe, expect, it } from 'vitest';
import { buildManifest, parseManifest } from './manifest.js';
import { hashBytes } from '../hash/blake3.js';
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

/** A manifest as a stranger writes it: any entries, stored under its real hash. */
function crafted(entries: unknown[]): [Buffer, string] {
  const bytes = Buffer.from(JSON.stringify({ schema: 1, entries }));
  return [bytes, `${hashBytes(bytes)}.dir`];
}

describe('crafted manifests are refused, naming the manifest and its folder', () => {
  const e = (path: string) => ({ path, hash: h('1'), size: 1 });
  it.each([
    ['a path listed twice', [e('a'), e('a')], /entries\.1\.path: 'a' is listed twice/],
    ['entries out of order', [e('b'), e('a')], /entries\.1\.path: 'a' is out of order/],
    ['a *.mlo file', [e('x.mlo')], /entries\.0\.path: 'x\.mlo' ends in \.mlo, which mlo reads as a pointer file/],
    ['a *.mlo folder', [e('d.mlo/x')], /ends in \.mlo/],
    ['a file that is also a folder', [e('a'), e('a-b'), e('a/b')], /entries\.2\.path: 'a\/b' lies inside 'a', which is listed as a file/],
    ['a path that climbs out', [e('../x')], /entries\.0\.path: must be a relative path inside the repository/],
    ['a size past 2^53', [{ ...e('a'), size: 1e300 }], /entries\.0\.size: must be a whole number/],
  ])('%s', (_what, entries, message) => {
    const [bytes, hash] = crafted(entries);
    expect(() => parseManifest(bytes, hash, 'data/imgs (data/imgs.mlo)')).toThrow(message);
    expect(() => parseManifest(bytes, hash, 'data/imgs (data/imgs.mlo)')).toThrow(`directory manifest ${hash.slice(0, 12)} of data/imgs (data/imgs.mlo): `);
  });

  it('clips a long path in the message', () => {
    const [bytes, hash] = crafted([e(`${'p'.repeat(5000)}.mlo`)]);
    expect(() => parseManifest(bytes, hash)).toThrow(/p{200}\.\.\.' ends in/);
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
