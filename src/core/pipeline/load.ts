/**
 * Reads mlo.yaml into resolved stages: templates substituted, foreach/matrix expanded, every path made
 * relative to the repository root, and the checks that need the whole file (two stages writing one
 * path, a stage reading its own output). Errors name the file, the line and the stage.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { MloError, explainFsError, isMloError } from '../../base/errors.js';
import type { Repo } from '../repo/repo.js';
import { lineOf, parseYamlText } from '../../base/yamlfile.js';
import { hasGitFolder, isMloDirPath } from '../data/pointer/paths.js';
import { ParamsReader } from './params.js';
import { LOCK_FILE } from '../repo/names.js';
import { assemblePipeline } from './assemble.js';
import { readThroughCache } from '../repo/parsecache.js';
import { DEFAULT_PARAMS_FILE, JOIN, PIPELINE_FILE, pipelineSchema, type PipelineFile, type StageDef, type StageEntry } from './schema.js';
import { interpolateDeep, interpolateString, mergeVars, type Vars } from './template.js';

export type { OutKind, Pipeline, Stage, StageDep, StageOut, StageParams } from './stage.js';
import type { OutKind, Pipeline, Stage, StageOut, StageParams } from './stage.js';

export function pipelineExists(repo: Repo): boolean {
  return existsSync(join(repo.root, PIPELINE_FILE));
}

export function loadPipeline(repo: Repo, params = new ParamsReader(repo.root, repo)): Pipeline {
  const file = join(repo.root, PIPELINE_FILE);
  const stages = readThroughCache(repo, PIPELINE_FILE, () => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new MloError('MLO_NO_PIPELINE', `there is no ${PIPELINE_FILE} in ${repo.root}`, {
          hint: 'add a stage with `mlo stage add -n NAME -d DEP -o OUT -- CMD` (see docs/pipelines.md)',
        });
      }
      explainFsError(err, PIPELINE_FILE);
    }
    const reader = new ParamsReader(repo.root, repo);
    const parsed = parsePipeline(text, reader);
    return { value: parsed.stages, inputs: [PIPELINE_FILE, ...reader.files()] };
  });
  return assemblePipeline(repo, stages, params);
}

export function parsePipeline(text: string, params: ParamsReader): Pipeline {
  const parsed = parseWithKeyLines(text);
  const where = whereFn(parsed.doc, parsed.lines);
  const file = parsed.value;
  let globals: Vars = params.read(DEFAULT_PARAMS_FILE) ?? {};
  for (const [i, v] of (file.vars ?? []).entries()) globals = mergeVars(globals, loadVars(v, '', params, where(['vars', i])));
  const stages: Stage[] = [];
  for (const [name, entry] of Object.entries(file.stages)) {
    for (const gen of expand(name, entry, globals, params, where)) stages.push(gen);
  }
  const byName = new Map<string, Stage>();
  for (const s of stages) {
    if (byName.has(s.name)) {
      throw new MloError('MLO_BAD_PIPELINE', `${where(s.at)}: two stages are named '${s.name}'`, { hint: 'rename one (generated names are name@item)' });
    }
    byName.set(s.name, s);
  }
  checkOuts(stages, where);
  return { stages, byName, params, where };
}

/**
 * parseYamlText points an unknown-key error at the enclosing map; the line of the unknown key itself is
 * what the user needs, so on that error the document is parsed again (only then) to find it.
 */
function parseWithKeyLines(text: string): ReturnType<typeof parseYamlText<PipelineFile>> {
  try {
    return parseYamlText(text, PIPELINE_FILE, pipelineSchema);
  } catch (err) {
    const m = isMloError(err, 'MLO_BAD_FILE') ? /: Unrecognized key\(s\) in object: '([^']+)'/.exec(err.message) : null;
    const key = (err as MloError).meta?.key;
    if (!m || typeof key !== 'string') throw err;
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines });
    const path = key === '(top level)' ? [m[1]] : [...key.split('.'), m[1]];
    const line = lineOf(doc, lines, path);
    if (!line) throw err;
    const e = err as MloError;
    throw new MloError(e.code, e.message.replace(/^mlo\.yaml:\d+:/, `${PIPELINE_FILE}:${line}:`), { hint: e.hint, meta: { ...e.meta, line } });
  }
}

function whereFn(doc: Document, lines: LineCounter): (at: (string | number)[]) => string {
  return (at) => {
    const line = lineOf(doc, lines, at);
    return line ? `${PIPELINE_FILE}:${line}` : PIPELINE_FILE;
  };
}

function loadVars(entry: string | Record<string, unknown>, wdir: string, params: ParamsReader, where: string): Vars {
  if (typeof entry !== 'string') return entry;
  const [fileName, keyList] = entry.split(':', 2);
  const rel = resolvePath(wdir, fileName, where, 'vars');
  const values = params.read(rel);
  if (!values) throw new MloError('MLO_NOT_FOUND', `${where}: vars file ${rel} does not exist`);
  if (!keyList) return values;
  const picked: Vars = {};
  for (const k of keyList
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(k in values)) throw new MloError('MLO_UNKNOWN_PARAM', `${where}: key '${k}' is not in ${rel}`);
    picked[k] = values[k];
  }
  return picked;
}

function expand(name: string, entry: StageEntry, globals: Vars, params: ParamsReader, where: (at: (string | number)[]) => string): Stage[] {
  const at = ['stages', name];
  if (entry.foreach !== undefined) {
    const source =
      typeof entry.foreach === 'string'
        ? interpolateString(entry.foreach, globals, { where: `${where([...at, 'foreach'])}: stages.${name}.foreach` })
        : entry.foreach;
    const items: { id: string; vars: Vars }[] = [];
    if (Array.isArray(source)) {
      const scalar = source.every((v) => v === null || typeof v !== 'object');
      source.forEach((item, i) => items.push({ id: scalar ? String(item) : String(i), vars: { item, key: i } }));
    } else if (source && typeof source === 'object') {
      for (const [key, item] of Object.entries(source)) items.push({ id: key, vars: { item, key } });
    } else {
      throw new MloError('MLO_BAD_PIPELINE', `${where([...at, 'foreach'])}: stages.${name}.foreach must be a list or a map`);
    }
    return items.map((it) => resolveStage(`${name}${JOIN}${it.id}`, entry.do!, mergeVars(globals, it.vars), params, [...at, 'do'], where));
  }
  if (entry.matrix !== undefined) {
    const dims: { key: string; values: unknown[] }[] = [];
    for (const [key, raw] of Object.entries(entry.matrix)) {
      const values =
        typeof raw === 'string' ? interpolateString(raw, globals, { where: `${where([...at, 'matrix', key])}: stages.${name}.matrix.${key}` }) : raw;
      if (!Array.isArray(values) || values.length === 0) {
        throw new MloError('MLO_BAD_PIPELINE', `${where([...at, 'matrix', key])}: stages.${name}.matrix.${key} must be a non-empty list`);
      }
      dims.push({ key, values });
    }
    const { matrix: _m, ...def } = entry;
    let combos: { parts: string[]; item: Record<string, unknown> }[] = [{ parts: [], item: {} }];
    for (const d of dims) {
      combos = combos.flatMap((c) =>
        d.values.map((v, i) => ({
          parts: [...c.parts, v !== null && typeof v === 'object' ? `${d.key}${i}` : String(v)],
          item: { ...c.item, [d.key]: v },
        })),
      );
    }
    return combos.map((c) =>
      resolveStage(`${name}${JOIN}${c.parts.join('-')}`, def, mergeVars(globals, { item: c.item, key: c.parts.join('-') }), params, at, where),
    );
  }
  return [resolveStage(name, entry, globals, params, at, where)];
}

function resolveStage(
  name: string,
  raw: StageDef,
  vars: Vars,
  params: ParamsReader,
  at: (string | number)[],
  where: (at: (string | number)[]) => string,
): Stage {
  const wdirRaw = raw.wdir === undefined ? '' : String(interpolateString(raw.wdir, vars, { where: `${where([...at, 'wdir'])}: stages.${name}.wdir` }));
  const wdir = wdirRaw === '' || wdirRaw === '.' ? '' : resolvePath('', wdirRaw, `${where([...at, 'wdir'])}: stage '${name}'`, 'wdir');
  for (const [i, v] of (raw.vars ?? []).entries()) vars = mergeVars(vars, loadVars(v, wdir, params, where([...at, 'vars', i])));
  const { vars: _v, ...rest } = raw;
  const def = interpolateDeep(rest, vars, { where: `${where(at)}: stages.${name}` }) as StageDef;
  const pathOf = (p: unknown, keyAt: (string | number)[], what: string) => {
    if (typeof p !== 'string' && typeof p !== 'number') {
      throw new MloError('MLO_BAD_PIPELINE', `${where(keyAt)}: stage '${name}': ${what} must be a path, got ${JSON.stringify(p)}`);
    }
    return resolvePath(wdir, String(p), `${where(keyAt)}: stage '${name}'`, what);
  };
  const outs: StageOut[] = [];
  const addOuts = (list: StageDef['outs'], kind: OutKind, key: string, defaultCache: boolean) => {
    (list ?? []).forEach((entry, i) => {
      const entryAt = [...at, key, i];
      if (typeof entry === 'string') {
        outs.push({ path: pathOf(entry, entryAt, key), cache: defaultCache, persist: false, kind, at: entryAt });
        return;
      }
      for (const [p, flags] of Object.entries(entry)) {
        outs.push({ path: pathOf(p, entryAt, key), cache: flags?.cache ?? defaultCache, persist: flags?.persist ?? false, kind, at: entryAt });
      }
    });
  };
  addOuts(def.outs, 'out', 'outs', true);
  addOuts(def.metrics, 'metric', 'metrics', true);
  addOuts(def.plots, 'plot', 'plots', true);
  const stageParams: StageParams[] = [];
  const defaultParams = wdir ? `${wdir}/${DEFAULT_PARAMS_FILE}` : DEFAULT_PARAMS_FILE;
  (def.params ?? []).forEach((entry, i) => {
    const entryAt = [...at, 'params', i];
    if (typeof entry === 'string') {
      // `file.yaml:key1,key2` is accepted as a shorthand for `{file.yaml: [key1, key2]}`.
      const colon = entry.indexOf(':');
      if (colon > 0 && /\.(ya?ml|json)$/.test(entry.slice(0, colon))) {
        stageParams.push({
          file: pathOf(entry.slice(0, colon), entryAt, 'params file'),
          keys: entry
            .slice(colon + 1)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          at: entryAt,
        });
      } else {
        stageParams.push({ file: defaultParams, keys: [entry], at: entryAt });
      }
      return;
    }
    for (const [f, keys] of Object.entries(entry))
      stageParams.push({ file: pathOf(f, entryAt, 'params file'), keys: keys ? keys.map(String) : null, at: entryAt });
  });
  // Keys of one file are merged so the lock holds one map per file.
  const merged = new Map<string, StageParams>();
  for (const p of stageParams) {
    const prev = merged.get(p.file);
    if (!prev) merged.set(p.file, { ...p, keys: p.keys ? [...p.keys] : null });
    else if (prev.keys && p.keys) prev.keys.push(...p.keys.filter((k) => !prev.keys!.includes(k)));
    else prev.keys = null;
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(def.env ?? {})) env[k] = String(v);
  return {
    name,
    cmd: def.cmd!,
    wdir,
    deps: (def.deps ?? []).map((d, i) => ({ path: pathOf(d, [...at, 'deps', i], 'deps'), at: [...at, 'deps', i] })),
    params: [...merged.values()],
    outs,
    env,
    desc: def.desc,
    frozen: def.frozen ?? false,
    alwaysChanged: def.always_changed ?? false,
    at,
  };
}

/** A path from mlo.yaml (relative to `wdir`) as a root-relative POSIX path; refuses paths that leave the repo. */
export function resolvePath(wdir: string, p: string, where: string, what: string): string {
  const joined = posix.normalize(posix.join(wdir || '.', p.replace(/\\/g, '/'))).replace(/\/+$/, '');
  if (posix.isAbsolute(p) || joined === '..' || joined.startsWith('../')) {
    throw new MloError('MLO_BAD_PATH', `${where}: ${what} '${p}' is outside the repository`, {
      hint: 'pipeline paths are relative and stay inside the repository',
    });
  }
  if (isMloDirPath(joined)) throw new MloError('MLO_BAD_PATH', `${where}: ${what} '${p}' is inside .mlo/, which mlo manages itself`);
  // Any letter case, as isSafeRelPath (pointer/paths.ts), which mlo.lock's reader applies: a path it
  // accepted here would be written to mlo.lock and refused there.
  if (hasGitFolder(joined)) {
    throw new MloError('MLO_BAD_PATH', `${where}: ${what} '${p}' is inside a .git folder, which git manages`, { hint: 'pipeline paths stay out of .git/' });
  }
  return joined === '.' ? '' : joined;
}

/** True when a and b are the same path or one contains the other. */
export function overlaps(a: string, b: string): boolean {
  return a === b || a === '' || b === '' || b.startsWith(`${a}/`) || a.startsWith(`${b}/`);
}

function checkOuts(stages: Stage[], where: (at: (string | number)[]) => string): void {
  const owners = new Map<string, { stage: Stage; out: StageOut }>();
  const all: { stage: Stage; out: StageOut }[] = [];
  for (const stage of stages) {
    for (const out of stage.outs) {
      if (out.path === '' || out.path === PIPELINE_FILE || out.path === LOCK_FILE) {
        throw new MloError('MLO_BAD_PATH', `${where(out.at)}: stage '${stage.name}': '${out.path || '.'}' cannot be an output`);
      }
      for (const dep of stage.deps) {
        if (overlaps(out.path, dep.path)) {
          const how =
            out.path === dep.path
              ? 'is also a dep'
              : dep.path.startsWith(`${out.path}/`)
                ? `contains its dep '${dep.path}'`
                : `is inside its dep '${dep.path}'`;
          throw new MloError('MLO_OUT_IN_DEP', `${where(out.at)}: stage '${stage.name}': out '${out.path}' ${how}`, {
            hint: 'a stage cannot read what it writes; write the output somewhere else',
          });
        }
      }
      const same = owners.get(out.path);
      if (same) throw duplicateOut(stage, out, same.stage, where);
      owners.set(out.path, { stage, out });
      all.push({ stage, out });
    }
  }
  // Nested outputs (one stage writes data/, another data/x.csv) are ambiguous too.
  for (const { stage, out } of all) {
    for (let i = out.path.lastIndexOf('/'); i > 0; i = out.path.lastIndexOf('/', i - 1)) {
      const parent = owners.get(out.path.slice(0, i));
      if (parent) throw duplicateOut(stage, out, parent.stage, where, parent.out.path);
    }
  }
}

function duplicateOut(stage: Stage, out: StageOut, other: Stage, where: (at: (string | number)[]) => string, otherPath?: string): MloError {
  const what = otherPath ? `is inside '${otherPath}', an out of` : 'is also an out of';
  const self = other === stage;
  return new MloError(
    'MLO_DUPLICATE_OUT',
    `${where(out.at)}: stage '${stage.name}': out '${out.path}' ${what} ${self ? 'the same stage' : `stage '${other.name}'`}`,
    {
      hint: 'each path is written by one stage only',
    },
  );
}
