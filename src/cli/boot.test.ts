import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bundleId, codeCacheDir, codeCacheFile, runBundle, startupInfo } from './boot.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlo-boot-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A bundle whose main() records its argv on globalThis, as scripts/bundle.mjs would write it. */
function writeBundle(id: string | undefined, body = 'globalThis.__bootTest = argv;'): URL {
  const file = join(dir, 'mlo.cjs');
  writeFileSync(file, `${id ? `// mlo-bundle ${id}\n` : ''}exports.main = async (argv) => { ${body} };\n`);
  return pathToFileURL(file);
}

/** runBundle in a fresh node, through the built dist/cli/boot.js (npm test builds it first). */
function runBundleInChild(bundleUrl: URL, env: Record<string, string>): unknown {
  const boot = new URL('../../dist/cli/boot.js', import.meta.url).href;
  const script = `const { runBundle } = await import(${JSON.stringify(boot)});
    process.stdout.write(JSON.stringify(await runBundle(['node', 'mlo'], { bundleUrl: new URL(${JSON.stringify(bundleUrl.href)}), env: ${JSON.stringify(env)} })));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const ran = () => (globalThis as { __bootTest?: string[] }).__bootTest;

describe('codeCacheDir', () => {
  it('follows MLO_CODE_CACHE, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(codeCacheDir({ MLO_CODE_CACHE: '0' })).toBeUndefined();
    expect(codeCacheDir({ MLO_CODE_CACHE: '/x/y' })).toBe('/x/y');
    expect(codeCacheDir({ XDG_CACHE_HOME: '/xdg' })).toBe(join('/xdg', 'mlo'));
    expect(codeCacheDir({})).toMatch(/\.cache[/\\]mlo$/);
  });
});

describe('bundleId', () => {
  it('reads the id on the first line only', () => {
    expect(bundleId('// mlo-bundle 0123456789abcdef\ncode')).toBe('0123456789abcdef');
    expect(bundleId('code\n// mlo-bundle 0123456789abcdef\n')).toBeUndefined();
    expect(bundleId('// mlo-bundle 0123\n')).toBeUndefined();
  });
});

describe('runBundle', () => {
  it('is undefined without a bundle, or with MLO_BUNDLE=0', async () => {
    expect(await runBundle(['node', 'mlo'], { bundleUrl: pathToFileURL(join(dir, 'none.cjs')), env: {} })).toBeUndefined();
    const bundleUrl = writeBundle('0123456789abcdef');
    expect(await runBundle(['node', 'mlo'], { bundleUrl, env: { MLO_BUNDLE: '0' } })).toBeUndefined();
  });

  it('writes the code cache on the first run and uses it on the next', async () => {
    const bundleUrl = writeBundle('0123456789abcdef');
    const env = { MLO_CODE_CACHE: join(dir, 'cache') };
    const first = await runBundle(['node', 'mlo', 'status'], { bundleUrl, env });
    expect(ran()).toEqual(['node', 'mlo', 'status']);
    expect(first).toEqual({ cacheUsed: false, cacheWritten: codeCacheFile(env.MLO_CODE_CACHE, '0123456789abcdef', fileURLToPath(bundleUrl)) });
    expect(startupInfo({ bundleUrl, env })).toMatchObject({ codeCache: first?.cacheWritten, codeCacheSaved: true });
    expect(await runBundle(['node', 'mlo', 'list'], { bundleUrl, env })).toEqual({ cacheUsed: true });
    expect(ran()).toEqual(['node', 'mlo', 'list']);
  });

  it('replaces a corrupt cache instead of failing', () => {
    // In separate processes: within one, V8 reuses the script it compiled and never reads the cache.
    const bundleUrl = writeBundle('0123456789abcdef');
    const env = { MLO_CODE_CACHE: join(dir, 'cache') };
    const file = codeCacheFile(env.MLO_CODE_CACHE, '0123456789abcdef', fileURLToPath(bundleUrl));
    expect(runBundleInChild(bundleUrl, env)).toEqual({ cacheUsed: false, cacheWritten: file });
    expect(runBundleInChild(bundleUrl, env)).toEqual({ cacheUsed: true });
    writeFileSync(file, 'not a V8 code cache');
    expect(runBundleInChild(bundleUrl, env)).toEqual({ cacheUsed: false, cacheWritten: file });
    expect(runBundleInChild(bundleUrl, env)).toEqual({ cacheUsed: true });
  });

  it('gives a rebuilt bundle of the same length its own cache', async () => {
    const env = { MLO_CODE_CACHE: join(dir, 'cache') };
    await runBundle(['node', 'mlo'], { bundleUrl: writeBundle('0123456789abcdef', 'globalThis.__bootTest = ["a"];'), env });
    expect(await runBundle(['node', 'mlo'], { bundleUrl: writeBundle('fedcba9876543210', 'globalThis.__bootTest = ["b"];'), env })).toMatchObject({
      cacheUsed: false,
    });
    expect(ran()).toEqual(['b']);
    expect(readdirSync(env.MLO_CODE_CACHE)).toHaveLength(2);
  });

  it('keeps stack traces naming the running bundle when two copies of one build share the cache folder', () => {
    // V8 restores functions from a cache with the file name they were compiled under; a cache shared by
    // two checkouts made `-v` stack traces name the other checkout's files.
    const env = { MLO_CODE_CACHE: join(dir, 'cache') };
    const body = 'process.stderr.write(new Error("where").stack.split("\\n")[1]);';
    const copies = ['one', 'two'].map((name) => {
      mkdirSync(join(dir, name));
      const file = join(dir, name, 'mlo.cjs');
      writeFileSync(file, `// mlo-bundle 0123456789abcdef\nexports.main = async (argv) => { ${body} };\n`);
      return pathToFileURL(file);
    });
    const frame = (bundleUrl: URL) => {
      const boot = new URL('../../dist/cli/boot.js', import.meta.url).href;
      const script = `const { runBundle } = await import(${JSON.stringify(boot)});
        await runBundle(['node', 'mlo'], { bundleUrl: new URL(${JSON.stringify(bundleUrl.href)}), env: ${JSON.stringify(env)} });`;
      return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).stderr;
    };
    for (const round of [1, 2]) {
      for (const copy of copies) expect(frame(copy), `round ${round}`).toContain(fileURLToPath(copy));
    }
    expect(readdirSync(env.MLO_CODE_CACHE)).toHaveLength(2);
  });

  it('writes no cache when it is off, or for a bundle without an id', async () => {
    expect(await runBundle(['node', 'mlo'], { bundleUrl: writeBundle('0123456789abcdef'), env: { MLO_CODE_CACHE: '0' } })).toEqual({ cacheUsed: false });
    const env = { MLO_CODE_CACHE: join(dir, 'cache') };
    expect(await runBundle(['node', 'mlo'], { bundleUrl: writeBundle(undefined), env })).toEqual({ cacheUsed: false });
    expect(existsSync(env.MLO_CODE_CACHE)).toBe(false);
  });

  it('removes caches not written for a month when it writes a new one', async () => {
    const env = { MLO_CODE_CACHE: join(dir, 'cache') };
    mkdirSync(env.MLO_CODE_CACHE);
    const old = join(env.MLO_CODE_CACHE, 'mlo-aaaaaaaaaaaaaaaa-node18.0.0-x64.v8cache');
    const recent = join(env.MLO_CODE_CACHE, 'mlo-bbbbbbbbbbbbbbbb-node20.0.0-x64.v8cache');
    const other = join(env.MLO_CODE_CACHE, 'notes.txt');
    for (const f of [old, recent, other]) writeFileSync(f, 'x');
    const longAgo = new Date(Date.now() - 40 * 24 * 3600 * 1000);
    utimesSync(old, longAgo, longAgo);
    utimesSync(other, longAgo, longAgo);
    await runBundle(['node', 'mlo'], { bundleUrl: writeBundle('0123456789abcdef'), env });
    expect(readdirSync(env.MLO_CODE_CACHE).sort()).toEqual(
      [basename(codeCacheFile(env.MLO_CODE_CACHE, '0123456789abcdef', join(dir, 'mlo.cjs'))), basename(recent), 'notes.txt'].sort(),
    );
  });

  it('still runs the command when the cache folder cannot be written', async () => {
    const blocker = join(dir, 'file');
    writeFileSync(blocker, '');
    const result = await runBundle(['node', 'mlo', 'x'], { bundleUrl: writeBundle('0123456789abcdef'), env: { MLO_CODE_CACHE: join(blocker, 'sub') } });
    expect(result).toEqual({ cacheUsed: false });
    expect(ran()).toEqual(['node', 'mlo', 'x']);
  });
});
