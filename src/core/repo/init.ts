/**
 * `mlo init`: creates `.mlo/` with a committed config.yaml and a .gitignore that keeps the cache,
 * tmp/ (state, lock) and local config out of git. Running it twice changes nothing.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONFIG_FILE } from './config.js';
import { MloError } from '../../base/errors.js';
import { writeFileAtomic } from '../../base/fs.js';
import { gitTopLevel } from '../../base/git.js';
import { MLO_DIR } from './names.js';

export interface InitOptions {
  cwd: string;
  noScm?: boolean;
}

export interface InitResult {
  root: string;
  created: boolean;
  scm: boolean;
}

export const MLO_GITIGNORE = ['/cache/', '/tmp/', '/config.local.yaml', '/tracking.db', '/tracking.db-*', ''].join('\n');

const CONFIG_TEMPLATE = `# mlo project configuration (committed). Secrets go to config.local.yaml, which git ignores.
# Reference: docs/file-formats.md#config
schema: 1
cache:
  # How workspace files share bytes with the cache: reflink where the filesystem can, else copy.
  # hardlink and symlink are faster but make workspace files read-only (see docs/file-formats.md).
  type: reflink,copy
remotes: {}
`;

export function initRepo({ cwd, noScm }: InitOptions): InitResult {
  const root = resolve(cwd);
  const top = gitTopLevel(root);
  // A repository set up with --no-scm stays one: running init there again is as harmless as anywhere.
  if (!top && !noScm && !existsSync(join(root, MLO_DIR))) {
    throw new MloError('MLO_NOT_GIT', `${root} is not inside a git work tree`, {
      hint: 'run `git init` first, or `mlo init --no-scm` to use mlo without git',
    });
  }
  const mloDir = join(root, MLO_DIR);
  const created = !existsSync(mloDir);
  mkdirSync(join(mloDir, 'cache'), { recursive: true });
  mkdirSync(join(mloDir, 'tmp'), { recursive: true });
  const configFile = join(mloDir, CONFIG_FILE);
  if (!existsSync(configFile)) writeFileAtomic(configFile, CONFIG_TEMPLATE);
  const ignoreFile = join(mloDir, '.gitignore');
  if (!existsSync(ignoreFile)) writeFileSync(ignoreFile, MLO_GITIGNORE);
  const mloignore = join(root, '.mloignore');
  if (!existsSync(mloignore)) {
    writeFileSync(mloignore, '# Files mlo skips inside added directories (gitignore syntax).\n.DS_Store\n__pycache__/\n*.pyc\n');
  }
  return { root, created, scm: Boolean(top) };
}
