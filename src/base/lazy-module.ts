/**
 * Synchronous, on-first-use loading of mlo's own heavy modules (the zod schemas of config and pointer
 * files), so commands whose fast paths never need them do not pay for loading them. Node 20.19+ can
 * require() an ES module, and the instance is shared with any static `import` of it.
 *
 * Under vitest, which runs the TypeScript sources, require() cannot load a `.ts` file: test/setup.ts
 * registers the same modules, imported through vitest, and they are found here by path.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const fromSources = new Map<string, unknown>();

/** `path` without its extension identifies the module. */
function idOf(path: string): string {
  return path.replace(/\.(ts|js)$/, '');
}

export function registerSourceModule(fileUrl: string, namespace: unknown): void {
  fromSources.set(idOf(fileURLToPath(fileUrl)), namespace);
}

/** Loads `specifier` (relative, ending in .js) as seen from the module at `fromUrl`. */
export function loadModule<T>(fromUrl: string, specifier: string): T {
  try {
    return createRequire(fromUrl)(specifier) as T;
  } catch (err) {
    const registered = fromSources.get(idOf(fileURLToPath(new URL(specifier, fromUrl))));
    if (registered) return registered as T;
    throw err;
  }
}
