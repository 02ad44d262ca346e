/**
 * The run cache: a stage whose cmd, dep hashes and params were run before (on any branch) gets its outs
 * back from the content cache instead of running again. An entry is the stage's lock entry, stored at
 * `<cache>/runs/<key[0:2]>/<key>.json`, where key = blake3 of the canonical JSON of cmd, deps' paths and
 * hashes, params, env (when set) and out paths. Everything the key covers is in the entry, so an entry is checked
 * against its name (as an object is against its hash) whenever it is read: a damaged or tampered one,
 * from disk or from a remote, is never used. Entries are only used when every out object is present
 * and verified.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../data/cache/manifest.js';
import { checkObject } from '../data/cache/verify.js';
import { errnoCode, isMloError } from '../../base/errors.js';
import { writeFileAtomic } from '../../base/fs.js';
import { hashBytes, isDirHash } from '../data/hash/blake3.js';
import { ANY_HASH_RE } from '../data/pointer/paths.js';
import type { Repo } from '../repo/repo.js';
import type { ScanContext } from '../data/workspace/scan.js';
import type { Stage } from './load.js';
import { lockEntrySchema, normalizeEntry, type LockEntry, type LockFileEntry, type LockOutEntry } from '../data/lockfile.js';
import { canonicalJson } from '../../base/json.js';
import type { ParamValues } from './params.js';

export function runCacheDir(repo: Repo): string {
  return join(repo.cacheDir, 'runs');
}

/** Run-cache eligibility (as DVC's): not always_changed, has deps or params, has outs, none persistent. */
export function canUseRunCache(stage: Stage): boolean {
  return !stage.alwaysChanged && (stage.deps.length > 0 || stage.params.length > 0) && stage.outs.length > 0 && stage.outs.every((o) => !o.persist);
}

export function runCacheKey(stage: Stage, deps: LockFileEntry[], params: ParamValues): string {
  return keyOf(stage.cmd, stage.env, deps, params, stage.outs);
}

/** The key an entry must be stored under: the same hash, computed from what the entry records. */
export function runCacheKeyOfEntry(entry: LockEntry): string {
  return keyOf(
    entry.cmd,
    entry.env,
    entry.deps,
    entry.params,
    entry.outs.map((o) => ({ path: o.path, cache: o.cache !== false })),
  );
}

function keyOf(
  cmd: string | string[],
  env: Record<string, string> | undefined,
  deps: LockFileEntry[],
  params: ParamValues,
  outs: { path: string; cache: boolean }[],
): string {
  const doc = {
    cmd,
    // Only when set, so the keys of stages without env are the ones earlier versions computed.
    ...(env && Object.keys(env).length ? { env } : {}),
    deps: deps.map((d) => ({ path: d.path, hash: d.hash })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    params,
    outs: outs.map((o) => ({ path: o.path, cache: o.cache })).sort((a, b) => (a.path < b.path ? -1 : 1)),
  };
  return hashBytes(Buffer.from(canonicalJson(doc)));
}

export const RUN_KEY_RE = /^[0-9a-f]{64}$/;

/** Entries are a few hundred bytes; anything this big is not one (and is not read into memory). */
export const RUN_ENTRY_MAX_BYTES = 1 << 20;

export function runCacheEntryPath(repo: Repo, key: string): string {
  return join(runCacheDir(repo), key.slice(0, 2), `${key}.json`);
}

export type ParsedRunEntry = { ok: true; entry: LockEntry } | { ok: false; reason: string };

/**
 * Validates an entry's text: JSON, the lock entry schema (relative paths without `..`, hashes, sizes)
 * and its key. `key` comes from the entry's file name.
 */
export function parseRunCacheEntry(text: string, key: string): ParsedRunEntry {
  if (!RUN_KEY_RE.test(key)) return { ok: false, reason: 'its name is not a run-cache key (64 hex digits)' };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'it is not valid JSON' };
  }
  const parsed = lockEntrySchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${issue.path.join('.') || 'entry'}: ${issue.message}` };
  }
  if (runCacheKeyOfEntry(parsed.data) !== key) return { ok: false, reason: 'its content does not match its key' };
  return { ok: true, entry: parsed.data };
}

/**
 * The objects an entry keeps alive, for gc: a valid entry's outs; for an entry that fails the checks,
 * whatever `outs[].hash` its JSON still names. gc is the one step that cannot be undone, so an entry it
 * cannot validate (damaged, tampered with, or written by a newer mlo) keeps what it names rather than
 * letting those objects go; `reason` says why it failed.
 */
export function outsOfRunEntry(text: string, key: string): { outs: LockOutEntry[]; reason?: string } {
  const parsed = parseRunCacheEntry(text, key);
  if (parsed.ok) return { outs: parsed.entry.outs };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { outs: [], reason: parsed.reason };
  }
  const listed = (doc as { outs?: unknown } | null)?.outs;
  const outs: LockOutEntry[] = [];
  for (const o of Array.isArray(listed) ? listed : []) {
    const e = o as { path?: unknown; hash?: unknown; size?: unknown } | null;
    if (typeof e?.hash !== 'string' || !ANY_HASH_RE.test(e.hash)) continue;
    // The path only labels messages: a damaged entry is never restored, so an unsafe one is harmless here.
    outs.push({ path: typeof e.path === 'string' ? e.path : '?', hash: e.hash, size: typeof e.size === 'number' && e.size >= 0 ? e.size : 0 });
  }
  return { outs, reason: parsed.reason };
}

export function readRunCache(repo: Repo, key: string): LockEntry | undefined {
  let text: string;
  try {
    text = readFileSync(runCacheEntryPath(repo, key), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  // A damaged entry is only a missed shortcut: the stage runs instead.
  const parsed = parseRunCacheEntry(text, key);
  return parsed.ok ? parsed.entry : undefined;
}

/** The keys of the entries in the local run cache (file names that are not keys are ignored). */
export function listRunCache(repo: Repo): string[] {
  const keys: string[] = [];
  let shards: string[];
  try {
    shards = readdirSync(runCacheDir(repo));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return keys;
    throw err;
  }
  for (const shard of shards.sort()) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    let names: string[];
    try {
      names = readdirSync(join(runCacheDir(repo), shard));
    } catch (err) {
      if (errnoCode(err) === 'ENOTDIR') continue;
      throw err;
    }
    for (const name of names.sort()) {
      const key = name.slice(0, -'.json'.length);
      if (name.endsWith('.json') && RUN_KEY_RE.test(key) && key.startsWith(shard)) keys.push(key);
    }
  }
  return keys;
}

export function writeRunCache(repo: Repo, key: string, entry: LockEntry): void {
  writeFileAtomic(runCacheEntryPath(repo, key), serializeRunCacheEntry(entry), { fsync: false });
}

export function serializeRunCacheEntry(entry: LockEntry): string {
  return `${JSON.stringify(normalizeEntry(entry), null, 1)}\n`;
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
