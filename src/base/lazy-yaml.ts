/**
 * The yaml package, loaded on first use. It costs ~16 ms of start-up, and the commands run most often
 * (`status`, `run` with nothing to do) read no YAML at all when pointers and config are in their fast
 * paths (pointer/fastparse.ts, config-load.ts). yaml is CommonJS, so this is the same instance a
 * static `import` elsewhere gets.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

let loaded: typeof Yaml | undefined;

export function yaml(): typeof Yaml {
  loaded ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return loaded;
}
