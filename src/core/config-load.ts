/**
 * Loads a repository's config for every command. The validated result of `.mlo/config.yaml` plus
 * `.mlo/config.local.yaml` is remembered in `.mlo/tmp/config-cache.json` under both files' inode,
 * size, mtime and ctime (ctime catches an edit that restores the old mtime, such as `cp -p`), so a
 * command whose config has not changed loads neither the YAML parser nor zod
 * (~25 ms of start-up; config.ts does the real work on a miss). A file written within RACY_MS of
 * being read is not remembered: a second edit in the same clock tick could keep its mtime (git's
 * "racily clean" problem). Losing or corrupting the cache file only costs one parse.
 */
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as ConfigModule from './config.js';
import type { Config } from './config.js';
import { TEMP_PREFIX } from './fsutil.js';
import { loadModule } from './lazy-module.js';
import { RACY_MS } from './state.js';

const CACHE_FILE = 'config-cache.json';
const CACHE_VERSION = 1;

interface Cached {
  version: number;
  key: string;
  config: Config;
}

export function loadConfig(mloDir: string): Config {
  const files = ['config.yaml', 'config.local.yaml'].map((f) => lstatSync(join(mloDir, f), { throwIfNoEntry: false }));
  const key = files.map((st) => (st ? `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}` : '-')).join('|');
  const cacheFile = join(mloDir, 'tmp', CACHE_FILE);
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as Cached;
    if (cached.version === CACHE_VERSION && cached.key === key) return cached.config;
  } catch {
    // No cache yet, or a torn one: parse.
  }
  const startedAt = Date.now();
  const config = loadModule<typeof ConfigModule>(import.meta.url, './config.js').loadConfig(mloDir);
  if (files.every((st) => !st || startedAt - st.mtimeMs >= RACY_MS)) {
    try {
      mkdirSync(join(mloDir, 'tmp'), { recursive: true });
      const tmp = `${cacheFile}${TEMP_PREFIX}${process.pid}`;
      // Private: config.local.yaml may hold credentials.
      writeFileSync(tmp, JSON.stringify({ version: CACHE_VERSION, key, config } satisfies Cached), { mode: 0o600 });
      renameSync(tmp, cacheFile);
    } catch {
      // A read-only checkout still works, just without the cache.
    }
  }
  return config;
}
