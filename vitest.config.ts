import { defineConfig, type Plugin } from 'vitest/config';

/**
 * mlo loads its heavy modules on first use with `loadModule(import.meta.url, './x.js')`, a require()
 * (src/base/lazy-module.ts) that cannot load the TypeScript sources vitest runs. As scripts/bundle.mjs
 * does for dist/mlo.cjs, each call is rewritten, here into a static import of the same module, so tests
 * reach the same instance vitest loaded (one MloError class for instanceof).
 */
function lazyModulesAsImports(): Plugin {
  const call = /\bloadModule(?:<[^>()]*>)?\(import\.meta\.url,\s*(['"])(\.[^'"]+)\1\)/g;
  return {
    name: 'mlo-lazy-modules-as-imports',
    transform(code, id) {
      if (!id.includes('/src/') || !code.includes('loadModule')) return null;
      const imports: string[] = [];
      const body = code.replace(call, (_all, _quote, specifier: string) => {
        const name = `__mloLazyModule${imports.length}`;
        imports.push(`import * as ${name} from ${JSON.stringify(specifier)};`);
        return name;
      });
      return imports.length ? { code: `${imports.join('\n')}\n${body}`, map: null } : null;
    },
  };
}

export default defineConfig({
  plugins: [lazyModulesAsImports()],
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // forks (the default) because better-sqlite3 and onnxruntime-node are native modules.
    pool: 'forks',
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
