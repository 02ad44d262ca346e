/**
 * Which files hold metrics and params, read from an mlo.yaml text (the workspace's, or one read from
 * git's objects at a revision). Read loosely on purpose: `mlo metrics diff main` must work on a branch
 * whose mlo.yaml an older or newer mlo wrote, so unknown keys are ignored rather than rejected.
 */
import { posix } from 'node:path';
import { isMloError } from '../../base/errors.js';
import { parseYaml } from '../../base/yamlfile.js';

import { DEFAULT_PARAMS_FILE, PIPELINE_FILE } from '../repo/names.js';
import { insideRepoPath } from '../data/pointer/paths.js';

export { DEFAULT_PARAMS_FILE };
/** Metrics files looked for when mlo.yaml declares none. */
export const DEFAULT_METRICS_FILES = ['metrics.json', 'metrics.yaml', 'metrics.yml'];

export interface Declared {
  metrics: string[];
  params: string[];
}

type Obj = Record<string, unknown>;

function entryPaths(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  for (const e of list) {
    if (typeof e === 'string') out.push(e);
    else if (e && typeof e === 'object') out.push(...Object.keys(e as Obj));
  }
  return out;
}

function paramFiles(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  for (const e of list) {
    if (typeof e === 'string') out.push(DEFAULT_PARAMS_FILE);
    else if (e && typeof e === 'object') out.push(...Object.keys(e as Obj));
  }
  return out;
}

function under(wdir: unknown, p: string): string {
  return typeof wdir === 'string' && wdir !== '.' ? posix.normalize(posix.join(wdir, p)) : posix.normalize(p);
}

/**
 * The metrics and params files an mlo.yaml declares (paths relative to the repo root). Paths that
 * still hold `${...}` templates are left out; an unparsable file declares nothing (the pipeline's own
 * loader names its syntax error), but an alias bomb is refused here, naming the file.
 */
export function declaredFiles(pipelineText: string | undefined): Declared {
  const metrics = new Set<string>();
  const params = new Set<string>();
  let doc: unknown;
  try {
    doc = pipelineText === undefined ? undefined : parseYaml(pipelineText, PIPELINE_FILE);
  } catch (err) {
    if (isMloError(err)) throw err;
    doc = undefined;
  }
  if (doc && typeof doc === 'object') {
    const d = doc as Obj;
    for (const p of entryPaths(d.metrics)) metrics.add(posix.normalize(p));
    for (const p of Array.isArray(d.params) ? d.params : []) if (typeof p === 'string') params.add(posix.normalize(p));
    const stages = d.stages && typeof d.stages === 'object' ? (d.stages as Obj) : {};
    for (const entry of Object.values(stages)) {
      if (!entry || typeof entry !== 'object') continue;
      const e = entry as Obj;
      const body = e.do && typeof e.do === 'object' ? (e.do as Obj) : e;
      for (const p of entryPaths(body.metrics)) metrics.add(under(body.wdir, p));
      for (const p of paramFiles(body.params)) params.add(under(body.wdir, p));
    }
  }
  // An uninterpolated `${...}` names no file yet.
  const clean = (s: Set<string>) => [...new Set([...s].filter((p) => !p.includes('${')).map(insideRepoPath))].filter((p) => p !== undefined).sort();
  return { metrics: clean(metrics), params: [...new Set([DEFAULT_PARAMS_FILE, ...clean(params)])].sort() };
}
