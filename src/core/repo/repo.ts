/**
 * The repository context every core function takes: where the project root, `.mlo/` and the cache are,
 * and the merged config. Found by walking up from `cwd` to the nearest folder holding `.mlo/`.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Config } from './config.js';
import { loadConfig } from './config-load.js';
import { MloError } from '../../base/errors.js';
import { MLO_DIR } from './names.js';
import { checkCommittedCache, checkMloLinks } from './trust.js';

export interface Repo {
  /** Absolute path of the project root (the folder that holds `.mlo/`). */
  root: string;
  mloDir: string;
  cacheDir: string;
  tmpDir: string;
  config: Config;
}

export interface OpenRepoOptions {
  cwd: string;
}

export function findRoot(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, MLO_DIR);
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function openRepo({ cwd }: OpenRepoOptions): Repo {
  const root = findRoot(cwd);
  if (!root) {
    throw new MloError('MLO_NOT_A_REPO', `${resolve(cwd)} is not inside an mlo repository (no .mlo/ folder here or above)`, {
      hint: 'run `mlo init` at the root of your git repository',
    });
  }
  return repoAt(root);
}

export function repoAt(root: string): Repo {
  const mloDir = join(root, MLO_DIR);
  // Before the config loads: its parse cache is written in .mlo/tmp/.
  const { cacheLinked } = checkMloLinks(root);
  const { config, cacheDirIsLocal } = loadConfig(mloDir);
  const cacheDir = config.cache.dir ? (isAbsolute(config.cache.dir) ? config.cache.dir : resolve(mloDir, config.cache.dir)) : join(mloDir, 'cache');
  const usersChoice = cacheDirIsLocal || (config.cache.dir === undefined && cacheLinked);
  if (!usersChoice) checkCommittedCache(root, cacheDir, config.cache.dir);
  return { root, mloDir, cacheDir, tmpDir: join(mloDir, 'tmp'), config };
}
