/**
 * Where a model came from, gathered when it is packaged: the git commit (and whether the work tree had
 * uncommitted changes), params and data hashes from `mlo.lock`, and metrics from JSON metrics files.
 * These files belong to other parts of mlo and may be absent or in an older shape, so every reader here
 * is defensive: anything it does not understand is skipped, never fatal.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isMloError } from '../../base/errors.js';
import { parseYaml } from '../../base/yamlfile.js';
import type { WorkState } from '../../base/git.js';
import type { Lineage } from './schema.js';
import { DEFAULT_PARAMS_FILE, LOCK_FILE, PIPELINE_FILE } from '../repo/names.js';

/** `git` is the work tree's state (base/git's workState), read by the async caller; none outside git. */
export function readLineage(root: string, git?: WorkState): Lineage {
  const lineage: Lineage = {};
  const sources: string[] = [];
  if (git) {
    lineage.git = { commit: git.commit, dirty: git.dirty };
    if (git.branch) lineage.git.branch = git.branch;
  }
  const lock = readStructured(join(root, LOCK_FILE));
  if (lock) sources.push(LOCK_FILE);
  const params: Record<string, unknown> = {};
  const data = new Map<string, string>();
  for (const stage of lockStages(lock)) {
    if (isObject(stage.params)) {
      for (const [file, values] of Object.entries(stage.params)) {
        if (isObject(values)) flatten(values, file === DEFAULT_PARAMS_FILE ? '' : `${file}:`, params);
      }
    }
    for (const key of ['deps', 'outs']) {
      const list = stage[key];
      if (!Array.isArray(list)) continue;
      for (const d of list) {
        if (!isObject(d) || typeof d.path !== 'string') continue;
        const hash = [d.hash, d.blake3, d.md5, d.oid].find((h) => typeof h === 'string' && /^[0-9a-f]{16,}(\.dir)?$/.test(h));
        if (typeof hash === 'string' && key === 'deps') data.set(d.path, hash);
      }
    }
  }
  if (!lock) {
    const p = readStructured(join(root, DEFAULT_PARAMS_FILE));
    if (isObject(p)) {
      flatten(p, '', params);
      sources.push(DEFAULT_PARAMS_FILE);
    }
  }
  const metrics: Record<string, number> = {};
  for (const file of metricsFiles(root)) {
    const m = readStructured(join(root, file));
    if (!isObject(m)) continue;
    const flat: Record<string, unknown> = {};
    flatten(m, '', flat);
    let any = false;
    for (const [k, v] of Object.entries(flat)) {
      if (typeof v === 'number' && Number.isFinite(v)) {
        metrics[file === 'metrics.json' ? k : `${file}:${k}`] = v;
        any = true;
      }
    }
    if (any) sources.push(file);
  }
  if (Object.keys(params).length) lineage.params = params;
  if (Object.keys(metrics).length) lineage.metrics = metrics;
  if (data.size) lineage.data = [...data].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, hash]) => ({ path, hash }));
  if (sources.length) lineage.sources = sources;
  return lineage;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readStructured(file: string): unknown {
  if (!existsSync(file)) return undefined;
  try {
    const text = readFileSync(file, 'utf8');
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, file);
  } catch (err) {
    // An unreadable file adds no lineage; an alias bomb is refused, naming the file.
    if (isMloError(err)) throw err;
    return undefined;
  }
}

function lockStages(lock: unknown): Record<string, unknown>[] {
  if (!isObject(lock) || !isObject(lock.stages)) return [];
  return Object.values(lock.stages).filter(isObject);
}

/** `metrics.json` at the root, JSON files under `metrics/`, and metrics files that mlo.yaml stages declare. */
function metricsFiles(root: string): string[] {
  const files = new Set<string>();
  if (existsSync(join(root, 'metrics.json'))) files.add('metrics.json');
  const dir = join(root, 'metrics');
  if (existsSync(dir)) {
    try {
      for (const f of readdirSync(dir)) if (f.endsWith('.json')) files.add(`metrics/${f}`);
    } catch {
      // not a directory
    }
  }
  const pipeline = readStructured(join(root, PIPELINE_FILE));
  const declared = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const m of list) {
      const path = typeof m === 'string' ? m : isObject(m) ? Object.keys(m)[0] : undefined;
      if (path && /\.(json|ya?ml)$/.test(path) && !path.includes('..') && existsSync(join(root, path))) files.add(path);
    }
  };
  if (isObject(pipeline)) {
    declared(pipeline.metrics);
    if (isObject(pipeline.stages)) for (const stage of Object.values(pipeline.stages)) if (isObject(stage)) declared(stage.metrics);
  }
  return [...files].sort();
}

function flatten(obj: Record<string, unknown>, prefix: string, out: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix && !prefix.endsWith(':') ? `${prefix}.${k}` : `${prefix}${k}`;
    if (isObject(v)) flatten(v, key, out);
    else out[key] = v;
  }
}
