/**
 * `mlo model package`: a folder holding the model file and its `model.yaml`. The model must load in
 * onnxruntime and run on the input example (or on an input made up from its signature), so a package
 * that exists is one that serves.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { MloError, explainFsError } from '../../base/errors.js';
import { toPosix, writeFileAtomic } from '../../base/fs.js';
import { workState } from '../../base/git.js';
import type { Repo } from '../repo/repo.js';
import { decodeExample, parseJson, type Feeds } from './codec.js';
import { resolveContract, type FeatureContract } from './contract.js';
import { decodeCsv } from './csv-body.js';
import { inspectBytes, readModelFile } from './inspect.js';
import { readLineage } from './lineage.js';
import { InputError, loadSession, runOnce, synthesize, toNested } from './runtime.js';
import { MODEL_NAME_RE, MODEL_YAML, modelYamlSchema, toYaml, type ModelYaml } from './schema.js';

export { readPackage } from './schema.js';

export interface PackageOptions {
  /** Folder relative paths are resolved against. */
  cwd: string;
  /** The repository, when there is one (lineage, default folder, tracking the model with mlo). */
  repo?: Repo;
  file: string;
  name: string;
  example?: string;
  meta?: Record<string, string>;
  description?: string;
  columns?: string[];
  /** Output folder; default `models/NAME` under the repository root (or cwd outside a repository). */
  out?: string;
  /** Track the packaged model file with mlo (default true inside a repository). */
  track?: boolean;
}

export interface PackageResult {
  name: string;
  dir: string;
  modelFile: string;
  hash: string;
  size: number;
  signature: ModelYaml['signature'];
  /** Where the feature column names came from (metadata, --columns, input names) or that none are known. */
  features: FeatureContract;
  example: { synthesized: boolean; outputs: Record<string, { type: string; shape: number[] }> };
  lineage: ModelYaml['lineage'];
  /** How the model file is tracked: by an mlo pointer file, or not at all. */
  tracked?: { pointerFile: string; hash: string };
}

export const PACKAGED_MODEL = 'model.onnx';

export function checkModelName(name: string): void {
  if (!MODEL_NAME_RE.test(name)) {
    throw new MloError('MLO_BAD_NAME', `invalid model name '${name}'`, {
      hint: 'use 1-64 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit',
    });
  }
}

export async function packageModel(options: PackageOptions): Promise<PackageResult> {
  checkModelName(options.name);
  const file = resolve(options.cwd, options.file);
  const base = options.repo?.root ?? options.cwd;
  const bytes = readModelFile(file, options.file);
  const info = inspectBytes(bytes, options.file);
  const signature: ModelYaml['signature'] = { inputs: info.inputs, outputs: info.outputs };
  const contract = resolveContract(info, { columns: options.columns, label: options.file });
  if (contract.columns) signature.columns = contract.columns;

  const loaded = await loadSession(bytes, signature, { label: options.file });
  let feeds: Feeds;
  let synthesized = false;
  try {
    if (options.example) {
      const exampleFile = resolve(options.cwd, options.example);
      let text: string;
      try {
        text = readFileSync(exampleFile, 'utf8');
      } catch (err) {
        explainFsError(err, options.example);
      }
      try {
        // A CSV example (header row, then rows) maps through the feature contract like a text/csv request.
        feeds = /\.csv$/i.test(options.example) ? decodeCsv(signature, text) : decodeExample(signature, parseJson(text));
      } catch (err) {
        if (err instanceof InputError) {
          throw new MloError('MLO_BAD_EXAMPLE', `${options.example}: ${err.message}`, {
            hint: 'give a CSV with a header row, one JSON object keyed by input name, e.g. {"x": [[1.0, 2.0]]}, or an /invocations body',
          });
        }
        throw err;
      }
    } else {
      synthesized = true;
      feeds = {};
      for (const spec of signature.inputs) feeds[spec.name] = synthesize(spec);
    }
    const outputs = await runOnce(loaded, feeds, options.file);

    const dir = options.out ? resolve(options.cwd, options.out) : join(base, 'models', options.name);
    const modelFile = join(dir, PACKAGED_MODEL);
    if (resolve(modelFile) !== file) {
      // A tracked (read-only, possibly linked) previous version must not be written through.
      rmSync(modelFile, { force: true });
      writeFileAtomic(modelFile, bytes);
    }
    const lineage = readLineage(base, await workState(base));
    const doc: ModelYaml = {
      schema: 1,
      name: options.name,
      created: new Date().toISOString(),
      model: {
        path: PACKAGED_MODEL,
        hash: info.hash,
        algo: 'blake3',
        size: info.size,
        format: 'onnx',
        ir_version: info.irVersion,
        opsets: Object.fromEntries(info.opsets.map((o) => [o.domain || 'ai.onnx', o.version])),
        ...(info.producerName ? { producer: `${info.producerName} ${info.producerVersion}`.trim() } : {}),
      },
      signature,
      example: {
        synthesized,
        inputs: Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toNested(v.type, v.data, v.dims)])),
        outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, toNested(v.type, v.data, v.dims)])),
      },
      lineage,
      card: {
        ...(options.description ? { description: options.description } : {}),
        meta: options.meta ?? {},
      },
    };
    modelYamlSchema.parse(doc);
    writeFileAtomic(join(dir, MODEL_YAML), toYaml(doc, '# written by mlo model package; see docs/models.md#modelyaml'));

    let tracked: PackageResult['tracked'];
    if (options.repo && options.track !== false && isInside(options.repo.root, modelFile)) {
      tracked = await trackWithMlo(options.repo, modelFile);
    }
    return {
      name: options.name,
      dir: displayPath(base, dir),
      modelFile: displayPath(base, modelFile),
      hash: info.hash,
      size: info.size,
      signature,
      features: contract,
      example: {
        synthesized,
        outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { type: v.type, shape: v.dims }])),
      },
      lineage,
      tracked,
    };
  } finally {
    await loaded.session.release();
  }
}

function isInside(root: string, file: string): boolean {
  const rel = relative(root, file);
  return !rel.startsWith('..') && !rel.startsWith('/');
}

function displayPath(base: string, p: string): string {
  return isInside(base, p) ? toPosix(relative(base, p)) : p;
}

/** Tracks the model file through the content-addressed cache (`mlo add`), so versions can find it by hash. */
async function trackWithMlo(repo: Repo, modelFile: string): Promise<PackageResult['tracked']> {
  const { addTargets } = await import('../data/add.js');
  const added = await addTargets(repo, { cwd: repo.root, targets: [toPosix(relative(repo.root, modelFile))] });
  const first = added[0];
  return first ? { pointerFile: first.pointerFile, hash: first.hash } : undefined;
}
