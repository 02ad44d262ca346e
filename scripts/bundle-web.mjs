// Builds the page `mlo ui` serves into dist/web/: web/main.ts and what it imports (uPlot included) as
// one script, app.js; index.html and app.css as they are; and the chart libraries loaded as they ship
// (vega, vega-lite and vega-embed's browser builds, uPlot's stylesheet) copied into dist/web/vendor/.
// `mlo plots` inlines the same vendor files into its offline HTML. Everything the page loads comes from
// dist/ (package.json "files"): no CDN, no network at view time.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist', 'web');
const require = createRequire(join(root, 'package.json'));

/** A file inside an installed package, found through its package.json (some packages export no subpaths). */
function packageFile(pkg, file) {
  let dir;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    // vega-embed's "exports" hides package.json: find its folder from its main entry instead.
    dir = require.resolve(pkg).replace(new RegExp(`(node_modules/${pkg.replace('/', '\\/')})/.*$`), '$1');
  }
  return join(dir, file);
}

const VENDOR = [
  ['vega', 'build/vega.min.js'],
  ['vega-lite', 'build/vega-lite.min.js'],
  ['vega-embed', 'build/vega-embed.min.js'],
  ['uplot', 'dist/uPlot.min.css'],
];

async function main() {
  await mkdir(join(out, 'vendor'), { recursive: true });
  for (const [pkg, file] of VENDOR) await copyFile(packageFile(pkg, file), join(out, 'vendor', file.split('/').pop()));
  await copyFile(join(root, 'web', 'index.html'), join(out, 'index.html'));
  await copyFile(join(root, 'web', 'app.css'), join(out, 'app.css'));
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    process.stderr.write('bundle-web: esbuild is not installed; dist/web/app.js is not rebuilt (mlo ui needs it)\n');
    return;
  }
  await rm(join(out, 'app.js'), { force: true });
  await esbuild.build({
    entryPoints: [join(root, 'web', 'main.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    outfile: join(out, 'app.js'),
    logLevel: 'error',
  });
}

try {
  await main();
} catch (err) {
  if (!err.errors) process.stderr.write(`bundle-web: ${err.message}\n`);
  process.exitCode = 1;
}
