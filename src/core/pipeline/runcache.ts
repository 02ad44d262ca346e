/**
 * The run cache: a stage whose cmd, dep hashes and params were run before (on any branch) gets its outs
 * back from the content cache instead of running again. An entry is the stage's lock entry, stored at
 * `<cache>/runs/<key[0:2]>/<key>.json`, where key = blake3 of the canonical JSON of cmd, deps' paths and
 * hashes, params and out paths. Entries are only used when every out object is present and verified.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../cache/manifest.js';
import { checkObject } from '../cache/verify.js';
import { errnoCode, isMloError } from '../errors.js';
import { writeFileAtomic } from '../fsutil.js';
import { hashBytes, isDirHash } from '../hash/blake3.js';
import type { Repo } from '../repo.js';
import type { ScanContext } from '../workspace/scan.js';
import type { Stage } from './load.js';
import { lockEntrySchema, normalizeEntry, type LockEntry, type LockFileEntry, type LockOutEntry } from './lockfile.js';
import { canonicalJson, type ParamValues } from './params.js';

export function runCacheDir(repo: Repo): string {
  return join(repo.cacheDir, 'runs');
}

/** Run-cache eligibility (as DVC's): not always_changed, has deps or params, has outs, none persistent. */
export function canUseRunCache(stage: Stage): boolean {
  return !stage.alwaysChanged && (stage.deps.length > 0 || stage.params.length > 0) && stage.outs.length > 0 && stage.outs.every((o) => !o.persist);
}

export function runCacheKey(stage: Stage, deps: LockFileEntry[], params: ParamValues): string {
  const doc = {
    cmd: stage.cmd,
    deps: deps.map((d) => ({ path: d.path, hash: d.hash })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    params,
    outs: stage.outs.map((o) => ({ path: o.path, cache: o.cache })).sort((a, b) => (a.path < b.path ? -1 : 1)),
  };
  return hashBytes(Buffer.from(canonicalJson(doc)));
}

function entryPath(repo: Repo, key: string): string {
  return join(runCacheDir(repo), key.slice(0, 2), `${key}.json`);
}

export function readRunCache(repo: Repo, key: string): LockEntry | undefined {
  let text: string;
  try {
    text = readFileSync(entryPath(repo, key), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  // A damaged entry is only a missed shortcut: the stage runs instead.
  try {
    const parsed = lockEntrySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function writeRunCache(repo: Repo, key: string, entry: LockEntry): void {
  writeFileAtomic(entryPath(repo, key), `${JSON.stringify(normalizeEntry(entry), null, 1)}\n`, { fsync: false });
}

/** True when the cache holds every object of `outs` (directories: the manifest and every file), verified. */
export function outsInCache(ctx: ScanContext, outs: LockOutEntry[]): boolean {
  const cacheDir = ctx.repo.cacheDir;
  for (const out of outs) {
    if (checkObject(cacheDir, ctx.state, out.hash) !== 'ok') return false;
    if (!isDirHash(out.hash)) continue;
    let entries;
    try {
      entries = readManifest(cacheDir, out.hash);
    } catch (err) {
      if (isMloError(err)) return false;
      throw err;
    }
    if (!entries) return false;
    for (const e of entries) if (checkObject(cacheDir, ctx.state, e.hash) !== 'ok') return false;
  }
  return true;
}
