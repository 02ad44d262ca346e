/**
 * Where mlo writes and deletes is the user's decision, never the clone's. Everything committed in a
 * repository may come from a stranger, so, as git reads `safe.directory` and `core.hooksPath`-style
 * settings only from the user's own config:
 * - a symlink in `.mlo/`, `.mlo/tmp/`, `.mlo/tracking/` or the cache (the folders mlo writes and
 *   deletes in) is used only when `.mlo/config.local.yaml` lists it under `safe.links`;
 * - a `cache.dir` from the committed config is used only where it stays inside the repository, symlinks
 *   followed; set in the local config, it is the user's and goes anywhere (a shared cache);
 * - `.mlo` itself is never a symlink.
 * The local config is git-ignored, so a clone cannot bring one.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import type * as ConfigModule from './config.js';
import { MloError, errnoCode } from '../../base/errors.js';
import { loadModule } from '../../base/lazy-module.js';
import { MLO_DIR } from './names.js';

/** Folders in `.mlo/` whose entries mlo writes or deletes (state, lock, parse cache; run files). */
const WRITTEN_IN = ['tmp', 'tracking'];

/** Names (relative to `.mlo/`, posix) of the symlinks directly in `dir`. */
function linksIn(mloDir: string, dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isSymbolicLink())
      .map((e) => relative(mloDir, join(dir, e.name)).split('\\').join('/'));
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

function target(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '(unreadable)';
  }
}

function linkRefusal(mloDir: string, name: string): MloError {
  return new MloError(
    'MLO_UNTRUSTED_PATH',
    `.mlo/${name} is a symlink to ${target(join(mloDir, name))}; mlo does not write or delete through a link in .mlo/ that it did not get from you`,
    { hint: `if you made it, confirm it in .mlo/config.local.yaml (git-ignored): \`safe: {links: [${name}]}\`; otherwise remove the link (rm .mlo/${name})` },
  );
}

/** Throws unless every link in `names` is listed in the local config's `safe.links`. */
function refuseUnconfirmed(mloDir: string, names: string[]): void {
  if (!names.length) return;
  const confirmed = new Set(loadModule<typeof ConfigModule>(import.meta.url, './config.js').localSafeLinks(mloDir));
  const refused = names.find((n) => !confirmed.has(n));
  if (refused !== undefined) throw linkRefusal(mloDir, refused);
}

/**
 * Checks `.mlo/` before anything is read from or written to it (the config's parse cache is written
 * in `.mlo/tmp/`). Returns whether `.mlo/cache` is a link the user confirmed: then it is the user's.
 */
export function checkMloLinks(root: string): { cacheLinked: boolean } {
  const mloDir = join(root, MLO_DIR);
  if (lstatSync(mloDir).isSymbolicLink()) {
    throw new MloError('MLO_UNTRUSTED_PATH', `${MLO_DIR} is a symlink to ${target(mloDir)}; mlo keeps its config, cache and state only in a real .mlo folder`, {
      hint: 'replace the link with a folder (to keep the cache elsewhere, set cache.dir in .mlo/config.local.yaml)',
    });
  }
  const top = linksIn(mloDir, mloDir);
  const links = [...top, ...WRITTEN_IN.filter((d) => !top.includes(d)).flatMap((d) => linksIn(mloDir, join(mloDir, d)))];
  refuseUnconfirmed(mloDir, links);
  return { cacheLinked: top.includes('cache') };
}

/** The real path of `path`, whose last components may not exist yet (mlo creates them as folders). */
function realpathAsCreated(path: string): string {
  const missing: string[] = [];
  let at = path;
  for (;;) {
    try {
      return join(realpathSync(at), ...missing.reverse());
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || dirname(at) === at) throw err;
      missing.push(basename(at));
      at = dirname(at);
    }
  }
}

/**
 * Checks a cache the user did not choose: the default `.mlo/cache`, or a `cache.dir` from the
 * committed config (`committedDir`, as written there). It must stay inside the repository with
 * symlinks followed, and hold no symlink among the folders mlo writes objects to and cleans. Listing
 * a full cache's 256 object folders costs about 0.5 ms (measured, warm), once per command.
 */
export function checkCommittedCache(root: string, cacheDir: string, committedDir: string | undefined): void {
  if (committedDir !== undefined) {
    const real = realpathAsCreated(cacheDir);
    const rel = relative(realpathSync(root), real);
    if (rel.startsWith('..') || isAbsolute(rel)) {
      throw new MloError(
        'MLO_UNTRUSTED_PATH',
        `.mlo/config.yaml: cache.dir: ${committedDir} leads outside the repository${real === committedDir ? '' : ` (to ${real})`}; mlo uses a cache there only when you set it yourself`,
        {
          hint: `if you trust that folder, set the same cache.dir in .mlo/config.local.yaml (git-ignored): \`cache: {dir: ${committedDir}}\`; otherwise remove cache.dir from .mlo/config.yaml`,
        },
      );
    }
  }
  const mloDir = join(root, MLO_DIR);
  refuseUnconfirmed(mloDir, linksIn(mloDir, cacheDir));
}
