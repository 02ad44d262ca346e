/**
 * The files the UI's page loads: the bundled app (scripts/bundle-web.mjs writes dist/web/) and the
 * chart libraries copied beside it. A request names an entry of this fixed table, never a path: no
 * request can read a file outside dist/web/, whatever dots or escapes its URL holds.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MloError } from '../../base/errors.js';

/** dist/web/, where the build puts the page (this module is dist/core/ui/assets.js). */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** URL path -> file under dist/web/. */
const ASSETS: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/app.css': 'app.css',
  '/vendor/uPlot.min.css': 'vendor/uPlot.min.css',
  '/vendor/vega.min.js': 'vendor/vega.min.js',
  '/vendor/vega-lite.min.js': 'vendor/vega-lite.min.js',
  '/vendor/vega-embed.min.js': 'vendor/vega-embed.min.js',
};

export interface Asset {
  body: Buffer;
  type: string;
}

const loaded = new Map<string, Asset>();

/** The asset at `urlPath`, or undefined when the table has none. Read once, then kept in memory. */
export function assetFor(urlPath: string): Asset | undefined {
  const file = ASSETS[urlPath];
  if (file === undefined) return undefined;
  let asset = loaded.get(file);
  if (!asset) {
    asset = { body: readWebFile(file), type: TYPES[file.slice(file.lastIndexOf('.') + 1)] };
    loaded.set(file, asset);
  }
  return asset;
}

/** A file of dist/web/, with an error that says how to get it when the build did not write it. */
export function readWebFile(file: string): Buffer {
  try {
    return readFileSync(WEB_DIR + file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new MloError('MLO_NOT_FOUND', `dist/web/${file} is missing: this mlo was built without its web page`, {
      hint: 'run npm run build (it needs esbuild, a dev dependency) in the mlo checkout',
    });
  }
}
