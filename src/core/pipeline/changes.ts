/**
 * Whether a stage changed since mlo.lock recorded it, and why: its cmd, a dep's hash, a param's value,
 * or an out missing or modified (DVC's order: definition, deps, outs). Hashes come from scanPath, which
 * answers unchanged files from the state database by stat, so a no-op check reads no file content.
 * Everything here is what a no-op `mlo run` executes, so it imports neither yaml nor zod; deciding what
 * to do about a changed stage is plan.ts's job.
 */
import { lstatSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { writeObjectBytes } from '../data/cache/objects.js';
import { MloError } from '../../base/errors.js';
import { scanPath, type ScanContext } from '../data/workspace/scan.js';
import type { Graph } from './dag.js';
import type { Pipeline, Stage } from './load.js';
import type { LockDoc, LockEntry, LockFileEntry } from '../data/lockfile.js';
import { getKey, sameValue, type ParamValues } from './params.js';
import { FileStamps } from './stamps.js';

export type ReasonKind = 'never-run' | 'cmd' | 'env' | 'dep' | 'param' | 'out' | 'always-changed' | 'forced' | 'upstream';
export type Change = 'modified' | 'missing' | 'added' | 'removed';

export interface Reason {
  kind: ReasonKind;
  change?: Change;
  /** The dep/out path, the params file, or the upstream stage. */
  path?: string;
  key?: string;
  message: string;
}

/** lstat, or undefined when it fails: scanPath then reports the error in its own words. */
function statOrUndefined(abs: string): Stats | undefined {
  try {
    return lstatSync(abs, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

const sameStat = (a: Stats, b: Stats) => a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.size === b.size;

/**
 * Hashes of workspace paths computed during one command; entries under a stage's outs are dropped when
 * it writes them. Single files are answered from FileStamps when their stat matches. Call save() at the end.
 */
export class HashMemo {
  private readonly map = new Map<string, LockFileEntry | null>();
  private readonly stamps: FileStamps;

  constructor(private readonly ctx: ScanContext) {
    this.stamps = new FileStamps(ctx.repo.tmpDir);
  }

  get(rel: string): LockFileEntry | undefined {
    const hit = this.map.get(rel);
    if (hit !== undefined) return hit ?? undefined;
    const abs = join(this.ctx.repo.root, rel);
    const statAt = Date.now();
    const st = statOrUndefined(abs);
    if (st?.isFile()) {
      const hash = this.stamps.lookup(rel, st);
      if (hash !== undefined) return this.remember({ path: rel, hash, size: st.size });
    }
    const scanned = scanPath(this.ctx, rel, { store: false });
    if (scanned?.kind === 'file' && st?.isFile()) {
      // Recorded only if the file did not change while scanPath hashed it.
      const after = statOrUndefined(abs);
      if (after && sameStat(after, st) && scanned.size === st.size) this.stamps.record(rel, st, scanned.hash, statAt);
    }
    // A dep folder's manifest goes into the cache, so the next scan can use the directory snapshot
    // (a stat walk) instead of the state database; failing to store it only costs speed.
    if (scanned?.kind === 'dir' && scanned.manifest.bytes) {
      try {
        writeObjectBytes(this.ctx.repo.cacheDir, scanned.manifest.hash, scanned.manifest.bytes);
      } catch {
        // Cache not writable here: fine.
      }
    }
    const entry: LockFileEntry | null = !scanned
      ? null
      : scanned.kind === 'file'
        ? { path: rel, hash: scanned.hash, size: scanned.size }
        : { path: rel, hash: scanned.manifest.hash, size: scanned.manifest.size, files: scanned.manifest.files };
    this.map.set(rel, entry);
    return entry ?? undefined;
  }

  private remember(entry: LockFileEntry): LockFileEntry {
    this.map.set(entry.path, entry);
    return entry;
  }

  set(entry: LockFileEntry): void {
    this.map.set(entry.path, entry);
  }

  /** Forgets `rel`, everything inside it and every folder containing it. */
  forget(rel: string): void {
    for (const k of this.map.keys()) if (k === rel || k.startsWith(`${rel}/`) || rel.startsWith(`${k}/`)) this.map.delete(k);
  }

  /** Forgets every hash learned so far (another process may have written the workspace since). */
  clear(): void {
    this.map.clear();
  }

  /** Keeps the file hashes learned by this command for the next one. */
  save(): void {
    this.stamps.save();
  }
}

export interface CurrentState {
  deps: LockFileEntry[];
  /** Deps that do not exist in the workspace. */
  missing: string[];
  params: ParamValues;
}

export function currentDeps(memo: HashMemo, stage: Stage): { deps: LockFileEntry[]; missing: string[] } {
  const deps: LockFileEntry[] = [];
  const missing: string[] = [];
  for (const d of stage.deps) {
    const e = memo.get(d.path);
    if (e) deps.push(e);
    else missing.push(d.path);
  }
  return { deps, missing };
}

/** The values of the stage's params; an unknown key or a missing file is an error naming the stage. */
export function currentParams(pipeline: Pipeline, stage: Stage): ParamValues {
  const values: ParamValues = {};
  for (const p of stage.params) {
    const data = pipeline.params.read(p.file);
    if (!data) {
      throw new MloError('MLO_MISSING_PARAMS', `${pipeline.where(p.at)}: stage '${stage.name}': params file ${p.file} does not exist`, {
        hint: `create ${p.file} or remove it from the stage's params`,
      });
    }
    const picked: Record<string, unknown> = {};
    for (const key of p.keys ?? Object.keys(data)) {
      const r = getKey(data, key);
      if (!r.found) {
        throw new MloError('MLO_UNKNOWN_PARAM', `${pipeline.where(p.at)}: stage '${stage.name}': param '${key}' is not in ${p.file}`, {
          hint: `add '${key}' to ${p.file}, or fix the key in mlo.yaml (nested keys use dots: train.lr)`,
          meta: { stage: stage.name, file: p.file, key },
        });
      }
      picked[key] = r.value;
    }
    values[p.file] = picked;
  }
  return values;
}

function fmt(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function isPlainMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A changed param that holds a map (`params: [train]`) is reported key by key: `train.lr 0.5 -> 0.2`. */
function paramDiff(file: string, key: string, was: unknown, now: unknown): Reason[] {
  if (!isPlainMap(was) || !isPlainMap(now)) {
    return [{ kind: 'param', change: 'modified', path: file, key, message: `param changed: ${key} ${fmt(was)} -> ${fmt(now)}` }];
  }
  const out: Reason[] = [];
  for (const k of new Set([...Object.keys(was), ...Object.keys(now)])) {
    const sub = `${key}.${k}`;
    if (!(k in now)) out.push({ kind: 'param', change: 'removed', path: file, key: sub, message: `param removed: ${sub}` });
    else if (!(k in was)) out.push({ kind: 'param', change: 'added', path: file, key: sub, message: `param added: ${sub} = ${fmt(now[k])}` });
    else if (!sameValue(was[k], now[k])) out.push(...paramDiff(file, sub, was[k], now[k]));
  }
  return out;
}

/** Names of the variables that differ between two env maps (values are not shown: they may be secrets). */
export function envChanges(was: Record<string, string> | undefined, now: Record<string, string>): string[] {
  const before = was ?? {};
  return [...new Set([...Object.keys(before), ...Object.keys(now)])].filter((k) => before[k] !== now[k]).sort();
}

/**
 * Why the stage's definition or inputs differ from its lock entry (empty: they do not). `invalid`:
 * why the stage's entry in mlo.lock was set aside as invalid (then `entry` is undefined).
 */
export function inputReasons(stage: Stage, entry: LockEntry | undefined, current: CurrentState, invalid?: string): Reason[] {
  if (!entry) return [{ kind: 'never-run', message: invalid ? `its mlo.lock entry is invalid (${invalid}): runs again` : 'never run (not in mlo.lock)' }];
  const reasons: Reason[] = [];
  if (!sameValue(entry.cmd, stage.cmd)) reasons.push({ kind: 'cmd', message: 'cmd changed' });
  // An entry without env (older mlo versions wrote none) matches a stage without env.
  const env = envChanges(entry.env, stage.env);
  if (env.length) reasons.push({ kind: 'env', key: env.join(','), message: `env changed: ${env.join(', ')}` });
  const locked = new Map(entry.deps.map((d) => [d.path, d]));
  for (const p of current.missing) reasons.push({ kind: 'dep', change: 'missing', path: p, message: `dep missing: ${p}` });
  for (const d of current.deps) {
    const was = locked.get(d.path);
    if (!was) reasons.push({ kind: 'dep', change: 'added', path: d.path, message: `dep added: ${d.path}` });
    else if (was.hash !== d.hash) reasons.push({ kind: 'dep', change: 'modified', path: d.path, message: `dep modified: ${d.path}` });
  }
  const declared = new Set(stage.deps.map((d) => d.path));
  for (const d of entry.deps) if (!declared.has(d.path)) reasons.push({ kind: 'dep', change: 'removed', path: d.path, message: `dep removed: ${d.path}` });
  for (const [file, values] of Object.entries(current.params)) {
    const was = entry.params[file] ?? {};
    for (const [key, value] of Object.entries(values)) {
      if (!(key in was)) reasons.push({ kind: 'param', change: 'added', path: file, key, message: `param added: ${key} = ${fmt(value)}` });
      else if (!sameValue(was[key], value)) reasons.push(...paramDiff(file, key, was[key], value));
    }
    for (const key of Object.keys(was))
      if (!(key in values)) reasons.push({ kind: 'param', change: 'removed', path: file, key, message: `param removed: ${key}` });
  }
  for (const file of Object.keys(entry.params)) {
    if (!(file in current.params)) reasons.push({ kind: 'param', change: 'removed', path: file, message: `params removed: ${file}` });
  }
  return reasons;
}

/** Outs declared but not recorded, recorded but not declared, missing from the workspace or modified. */
export function outReasons(memo: HashMemo, stage: Stage, entry: LockEntry | undefined): Reason[] {
  if (!entry) return [];
  const reasons: Reason[] = [];
  const locked = new Map(entry.outs.map((o) => [o.path, o]));
  for (const out of stage.outs) {
    const was = locked.get(out.path);
    if (!was || (was.cache === false) === out.cache) {
      reasons.push({ kind: 'out', change: 'added', path: out.path, message: `out added: ${out.path}` });
      continue;
    }
    const now = memo.get(out.path);
    if (!now) reasons.push({ kind: 'out', change: 'missing', path: out.path, message: `out missing: ${out.path}` });
    else if (now.hash !== was.hash) reasons.push({ kind: 'out', change: 'modified', path: out.path, message: `out modified: ${out.path}` });
  }
  const declared = new Set(stage.outs.map((o) => o.path));
  for (const o of entry.outs) if (!declared.has(o.path)) reasons.push({ kind: 'out', change: 'removed', path: o.path, message: `out removed: ${o.path}` });
  return reasons;
}

/** Only missing or modified outs, each of which the lock entry records: the outs can be restored. */
export function onlyOutsDiffer(reasons: Reason[]): boolean {
  return reasons.length > 0 && reasons.every((r) => r.kind === 'out' && (r.change === 'missing' || r.change === 'modified'));
}

/** What a stage check needs: the hashes, the pipeline (for params) and mlo.lock. */
export interface CheckEnv {
  memo: HashMemo;
  pipeline: Pipeline;
  lock: LockDoc;
}

/** A stage compared with its lock entry; `decide` (plan.ts) turns it into an action. */
export interface Assessment {
  current: CurrentState;
  entry?: LockEntry;
  frozen: boolean;
  /** Why the stage must run: forced, always changed, or its definition or inputs differ. */
  reasons: Reason[];
  /** How its outs differ from the recorded ones. */
  outs: Reason[];
}

export function assess(env: CheckEnv, stage: Stage, options: { force?: boolean }): Assessment {
  const { deps, missing } = currentDeps(env.memo, stage);
  const current: CurrentState = { deps, missing, params: currentParams(env.pipeline, stage) };
  if (stage.frozen) return { current, frozen: true, reasons: [], outs: [] };
  const entry = env.lock.stages[stage.name];
  const reasons: Reason[] = [];
  if (options.force) reasons.push({ kind: 'forced', message: 'forced (--force)' });
  if (stage.alwaysChanged) reasons.push({ kind: 'always-changed', message: 'always_changed is set' });
  else if (stage.deps.length === 0 && stage.outs.length === 0 && stage.params.length === 0) {
    reasons.push({ kind: 'always-changed', message: 'no deps, params or outs: runs every time' });
  }
  reasons.push(...inputReasons(stage, entry, current, env.lock.invalid?.[stage.name]));
  return { current, entry, frozen: false, reasons, outs: outReasons(env.memo, stage, entry) };
}

/** Nothing to do: frozen, or inputs and outs are as recorded. */
export function isUnchanged(a: Assessment): boolean {
  return a.frozen || (a.reasons.length === 0 && a.outs.length === 0);
}

/**
 * Errors to raise before anything runs: a dep that is neither in the workspace nor an out of a stage
 * (naming the stage), a dep produced by a stage outside the selection, an unknown param key.
 */
export function preflight(env: CheckEnv, graph: Graph, names: string[]): void {
  const selected = new Set(names);
  for (const name of names) {
    const stage = env.pipeline.byName.get(name)!;
    currentParams(env.pipeline, stage);
    for (const dep of stage.deps) {
      const producers = [...graph.upstream.get(name)!]
        .map((n) => env.pipeline.byName.get(n)!)
        .filter((p) => p.outs.some((o) => o.path === dep.path || dep.path.startsWith(`${o.path}/`)));
      if (producers.some((p) => selected.has(p.name))) continue;
      if (env.memo.get(dep.path)) continue;
      const where = env.pipeline.where(dep.at);
      if (producers.length) {
        throw new MloError('MLO_MISSING_DEP', `${where}: stage '${name}': dep '${dep.path}' is missing; stage '${producers[0].name}' writes it`, {
          hint: `run it first: mlo run ${producers[0].name} (or drop --single-item)`,
          meta: { stage: name, dep: dep.path },
        });
      }
      throw new MloError('MLO_MISSING_DEP', `${where}: stage '${name}': dep '${dep.path}' does not exist and no stage writes it`, {
        hint: 'create the file, fetch it (mlo pull), or fix the path in mlo.yaml',
        meta: { stage: name, dep: dep.path },
      });
    }
  }
}
