/**
 * `mlo stage add`: writes one stage into mlo.yaml by editing the YAML document, so the user's comments
 * and layout elsewhere in the file survive. The new file is validated like any mlo.yaml (schema, two
 * stages with one out, an out inside a dep) before it replaces the old one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, parseDocument, YAMLMap } from 'yaml';
import { MloError, errnoCode, usageError } from '../../base/errors.js';
import { writeFileAtomic } from '../../base/fs.js';
import { shellQuote } from '../../base/shell.js';
import type { Repo } from '../repo/repo.js';
import { buildGraph } from './dag.js';
import { parsePipeline } from './load.js';
import { ParamsReader } from './params.js';
import { checkStagePaths } from './safety.js';
import { PIPELINE_FILE, STAGE_NAME_RE } from './schema.js';

export interface StageAddOptions {
  name: string;
  cmd: string;
  deps?: string[];
  outs?: string[];
  outsNoCache?: string[];
  outsPersist?: string[];
  metrics?: string[];
  metricsNoCache?: string[];
  plots?: string[];
  params?: string[];
  wdir?: string;
  desc?: string;
  alwaysChanged?: boolean;
  /** Replace a stage of the same name. */
  force?: boolean;
}

export interface StageAddResult {
  name: string;
  file: string;
  replaced: boolean;
  stage: Record<string, unknown>;
}

/**
 * The command words typed after `--`, as the one shell line mlo.yaml stores (DVC's `parse_cmd`). A
 * single word is the whole command as the user quoted it (`-- 'echo a > a.txt'`) and is kept as-is;
 * several words arrive with the shell's quotes already removed, so each is quoted again where needed,
 * and the stored line runs exactly the argv the user typed.
 */
export function commandLine(words: string[]): string {
  if (words.length === 1) return words[0];
  return words.map(shellQuote).join(' ');
}

/** `-p a,b` and `-p file.yaml:a,b` -> params entries (keys of params.yaml, or {file: [keys]}). */
function paramsEntries(list: string[]): unknown[] {
  const plain: string[] = [];
  const byFile = new Map<string, string[]>();
  for (const item of list) {
    const colon = item.indexOf(':');
    if (colon > 0) {
      const file = item.slice(0, colon);
      const keys = item
        .slice(colon + 1)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      byFile.set(file, [...(byFile.get(file) ?? []), ...keys]);
    } else {
      plain.push(
        ...item
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
    }
  }
  return [...plain, ...[...byFile].map(([file, keys]) => ({ [file]: keys.length ? keys : null }))];
}

export function addStage(repo: Repo, options: StageAddOptions): StageAddResult {
  if (!STAGE_NAME_RE.test(options.name)) {
    throw usageError(`'${options.name}' is not a valid stage name`, 'use letters, digits, _ . - (no @ : /)');
  }
  if (!options.cmd.trim()) throw usageError('the stage needs a command', 'example: mlo stage add -n train -d train.py -o model.onnx -- python train.py');
  const file = join(repo.root, PIPELINE_FILE);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const doc = parseDocument(text || 'stages: {}\n');
  if (doc.errors.length) throw new MloError('MLO_BAD_YAML', `${PIPELINE_FILE}: invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  if (!isMap(doc.contents)) doc.contents = new YAMLMap() as never;
  let stages = doc.get('stages', true);
  if (!isMap(stages)) {
    doc.set('stages', new YAMLMap());
    stages = doc.get('stages', true);
  }
  const stagesMap = stages as YAMLMap;
  const replaced = stagesMap.has(options.name);
  if (replaced && !options.force) {
    throw new MloError('MLO_STAGE_EXISTS', `stage '${options.name}' already exists in ${PIPELINE_FILE}`, {
      hint: 'use --force to replace it, or choose another name',
    });
  }
  const out = (paths: string[] | undefined, flags?: Record<string, boolean>) => (paths ?? []).map((p) => (flags ? { [p]: flags } : p));
  const stage: Record<string, unknown> = {};
  if (options.desc) stage.desc = options.desc;
  stage.cmd = options.cmd;
  if (options.wdir) stage.wdir = options.wdir;
  if (options.deps?.length) stage.deps = options.deps;
  if (options.params?.length) stage.params = paramsEntries(options.params);
  const outs = [...out(options.outs), ...out(options.outsNoCache, { cache: false }), ...out(options.outsPersist, { persist: true })];
  if (outs.length) stage.outs = outs;
  const metrics = [...out(options.metrics), ...out(options.metricsNoCache, { cache: false })];
  if (metrics.length) stage.metrics = metrics;
  if (options.plots?.length) stage.plots = options.plots;
  if (options.alwaysChanged) stage.always_changed = true;
  const node = doc.createNode(stage);
  // Short lists of paths read best inline: [a, b]; out entries with flags stay block maps.
  for (const key of ['deps', 'params']) {
    const list = (node as YAMLMap).get(key, true) as { flow?: boolean } | undefined;
    if (list && (stage[key] as unknown[]).every((v) => typeof v === 'string')) list.flow = true;
  }
  stagesMap.set(options.name, node);
  if ((stagesMap as { flow?: boolean }).flow) (stagesMap as { flow?: boolean }).flow = false;
  const newText = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  // Validate the whole new file (and the graph) before writing it.
  const pipeline = parsePipeline(newText, new ParamsReader(repo.root));
  buildGraph(pipeline);
  checkStagePaths(repo.root, [pipeline.byName.get(options.name)!], pipeline.where);
  writeFileAtomic(file, newText);
  return { name: options.name, file: PIPELINE_FILE, replaced, stage };
}
