// Bundles the compiled CLI (dist/cli/main.js and every dist/ module it loads) into one CommonJS file,
// dist/mlo.cjs, that bin/mlo.js runs with V8's code cache (src/cli/boot.ts). Measured on a no-op
// `mlo status` of 50,000 files: one file instead of ~40 ES modules saves ~8 ms, the code cache ~7 ms
// more, of a ~75 ms budget above `node -e 0`. Optional like the native walker: without esbuild (a
// production install) this prints a note and mlo runs the ES modules in dist/ directly.
//
// Three rewrites keep the bundle's behaviour identical to dist/'s modules:
// - every module's `import.meta.url` becomes the URL its own file has in dist/, so paths it resolves
//   from there (templates, workers, the native walker, package.json) are unchanged;
// - `loadModule(import.meta.url, './x.js')` (src/core/lazy-module.ts) becomes a bundled lazy
//   require, so the bundle holds one instance of every module (one MloError class for instanceof);
// - `createRequire(import.meta.url)('pkg')` becomes `require('pkg')`, so small pure-JS packages on the
//   hot path (commander, ignore) are bundled and code-cached; native and large ones stay external.
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');
const target = join(dist, 'mlo.cjs');

// Loaded at run time from node_modules: native addons, and packages too large to be worth bundling
// (each is loaded only by the commands that need it; simple-git would add 175 KB to the bundle).
const EXTERNAL = [
  'better-sqlite3',
  '@napi-rs/blake-hash',
  'onnxruntime-node',
  '*.node',
  '@aws-sdk/*',
  '@smithy/*',
  'zod',
  'yaml',
  'execa',
  'tinyglobby',
  'simple-git',
  // The queue's engine, loaded only by the shared-queue commands; its Redis driver is optional.
  'bullmq',
];

const LOAD_MODULE = /\bloadModule\(import\.meta\.url, ('\.[^']+')\)/g;
const CREATE_REQUIRE_PACKAGE = /\bcreateRequire\(import\.meta\.url\)\(('[^'.][^']*')\)/g;

const distModules = {
  name: 'mlo-dist-modules',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?js$/ }, async (args) => {
      if (!args.path.startsWith(dist + sep)) {
        // esbuild would turn a package's import.meta.url into undefined in CommonJS output.
        const text = await readFile(args.path, 'utf8');
        if (text.includes('import.meta')) throw new Error(`${relative(root, args.path)} uses import.meta: add its package to EXTERNAL in scripts/bundle.mjs`);
        return { contents: text, loader: 'js' };
      }
      const rel = relative(dist, args.path).split(sep).join('/');
      const text = (await readFile(args.path, 'utf8'))
        .replace(LOAD_MODULE, 'require($1)')
        .replace(CREATE_REQUIRE_PACKAGE, 'require($1)')
        .replaceAll('import.meta.url', `__mloModuleUrl(${JSON.stringify(rel)})`);
      if (text.includes('import.meta')) throw new Error(`${rel}: import.meta in a form scripts/bundle.mjs does not rewrite`);
      return { contents: text, loader: 'js' };
    });
  },
};

// The bundle runs with __dirname = dist/ (boot.ts passes it), so dist/-relative URLs resolve from there.
const BANNER = `'use strict';
const __mloDistUrl = require('node:url').pathToFileURL(__dirname + '/').href;
function __mloModuleUrl(rel) { return new URL(rel, __mloDistUrl).href; }`;

async function main() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    process.stderr.write('bundle: esbuild is not installed; mlo will run its ES modules from dist/ (a little slower to start)\n');
    await rm(target, { force: true });
    return;
  }
  const result = await esbuild.build({
    entryPoints: [join(dist, 'cli', 'main.js')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: EXTERNAL,
    plugins: [distModules],
    banner: { js: BANNER },
    write: false,
    logLevel: 'error',
    charset: 'ascii',
    // import() becomes require(): code that V8 loads from a code cache loses the host options that
    // import() needs (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), and Node 20.19+ can require ES modules.
    supported: { 'dynamic-import': false },
  });
  const code = result.outputFiles[0].text;
  // boot.ts reads the bundle as latin1 (~0.5 ms faster than utf8 for 900 KB), exact only for ASCII.
  // charset 'ascii' escapes everything except the insides of String.raw templates.
  const nonAscii = /[^\x00-\x7f]/.exec(code);
  if (nonAscii) {
    const line = code.slice(0, nonAscii.index).split('\n').length;
    throw new Error(`dist/mlo.cjs line ${line + 1}: non-ASCII character ${JSON.stringify(nonAscii[0])}; write it as a \\u escape in the source`);
  }
  const dynamicImport = code.split('\n').findIndex((line) => !line.trimStart().startsWith('//') && /(?<![\w$.'"])import\(/.test(line));
  if (dynamicImport >= 0) throw new Error(`dist/mlo.cjs line ${dynamicImport + 2}: an import() esbuild left in place; it would fail under the code cache`);
  // boot.ts names the code cache after this id: V8 checks only a cache's source length, so two
  // bundles of the same length must never share a cache.
  const id = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const temp = `${target}.${process.pid}.tmp`;
  await writeFile(temp, `// mlo-bundle ${id}\n${code}`);
  await rename(temp, target);
}

try {
  await main();
} catch (err) {
  // esbuild has already printed each error with its file and line.
  if (!err.errors) process.stderr.write(`bundle: ${err.message}\n`);
  process.exitCode = 1;
}
