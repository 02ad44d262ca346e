/**
 * Synchronous, on-first-use loading of mlo's own heavy modules (the zod schemas of config and pointer
 * files), so commands whose fast paths never need them do not pay for loading them. Node 20.19+ can
 * require() an ES module, and the instance is shared with any static `import` of it.
 *
 * Call it only as `loadModule(import.meta.url, './x.js')`: scripts/bundle.mjs (for dist/mlo.cjs) and
 * vitest.config.ts (for the TypeScript sources) rewrite that exact form.
 */
import { createRequire } from 'node:module';

/** Loads `specifier` (relative, ending in .js) as seen from the module at `fromUrl`. */
export function loadModule<T>(fromUrl: string, specifier: string): T {
  return createRequire(fromUrl)(specifier) as T;
}
