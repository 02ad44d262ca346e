/**
 * `mlo init`: creates `.mlo/` with a committed config.yaml and a .gitignore that keeps the cache,
 * tmp/ (state, lock) and local config out of git. Running it twice changes nothing.
 */
import { existsSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CONFIG_FILE } from './config.js';
import { MloError } from '../../base/errors.js';
import { writeFileAtomic } from '../../base/fs.js';
import { gitTopLevel } from '../../base/git.js';
import { MLO_DIR } from './names.js';
import { checkMloLinks } from './trust.js';

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
  const created = lstatSync(mloDir, { throwIfNoEntry: false }) === undefined;
  // A cloned .mlo/ may hold links (a dangling .mlo/.gitignore, .mlo/cache to a victim folder): the
  // same check every other command makes, before init creates or writes anything in it.
  if (!created) checkMloLinks(root);
  mkdirSync(join(mloDir, 'cache'), { recursive: true });
  mkdirSync(join(mloDir, 'tmp'), { recursive: true });
  const configFile = join(mloDir, CONFIG_FILE);
  if (!existsSync(configFile)) writeFileAtomic(configFile, CONFIG_TEMPLATE);
  writeIfAbsent(root, `${MLO_DIR}/.gitignore`, MLO_GITIGNORE);
  writeIfAbsent(root, '.mloignore', '# Files mlo skips inside added directories (gitignore syntax).\n.DS_Store\n__pycache__/\n*.pyc\n');
  return { root, created, scm: Boolean(top) };
}

/**
 * Creates `file` unless something is there, a dangling symlink included: existsSync follows links, so
 * a committed link to a missing path outside the repository would look absent and be written through.
 * O_EXCL ('wx') refuses to follow it; a link there is left alone (and named).
 */
function writeIfAbsent(root: string, rel: string, text: string): void {
  const file = join(root, rel);
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (st?.isSymbolicLink() && !existsSync(file)) {
    throw new MloError('MLO_UNTRUSTED_PATH', `${rel} is a symlink to a path that does not exist; mlo init does not write through it`, {
      hint: `remove the link (rm ${rel}) and run mlo init again`,
    });
  }
  if (st) return;
  writeFileSync(file, text, { flag: 'wx' });
}
