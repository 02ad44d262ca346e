/**
 * Loads a repository's config for every command. The validated result of `.mlo/config.yaml` plus
 * `.mlo/config.local.yaml` is kept in the parse cache (parsecache.ts), so a command whose config has
 * not changed loads neither the YAML parser nor zod (~25 ms of start-up); config.ts does the real
 * work on a miss.
 */
import { dirname, join } from 'node:path';
import type * as ConfigModule from './config.js';
import type { LoadedConfig } from './config.js';
import { loadModule } from '../../base/lazy-module.js';
import { readThroughCache } from './parsecache.js';

export function loadConfig(mloDir: string): LoadedConfig {
  return readThroughCache<LoadedConfig>({ root: dirname(mloDir), tmpDir: join(mloDir, 'tmp') }, 'config', () => ({
    value: loadModule<typeof ConfigModule>(import.meta.url, './config.js').loadConfig(mloDir),
    inputs: ['.mlo/config.yaml', '.mlo/config.local.yaml'],
  }));
}
