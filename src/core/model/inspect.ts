/** `mlo model inspect`: what an ONNX file declares, read from its protobuf without running it. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { explainFsError, isMloError } from '../../base/errors.js';
import { toPosix } from '../../base/fs.js';
import { loadModule } from '../../base/lazy-module.js';
import { hashBytes } from '../data/hash/blake3.js';
import { resolveContract, type FeatureContract } from './contract.js';
import { parseOnnx, type OnnxModelInfo } from './onnx.js';
import type * as Schema from './schema.js';

export interface InspectResult extends OnnxModelInfo {
  path: string;
  size: number;
  hash: string;
  algo: 'blake3';
}

/**
 * The feature contract predict and serve would use for this file, and where it comes from: the model's
 * metadata, its input names, or (`source: 'columns'`) the `--columns` recorded in the model.yaml of the
 * package the file belongs to (`file`). `problem` says why the contract could not be read.
 */
export interface InspectFeatures extends FeatureContract {
  file?: string;
  problem?: string;
}

export interface ModelInspection extends InspectResult {
  features: InspectFeatures;
}

export function readModelFile(path: string, display = path): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    explainFsError(err, display);
  }
}

export function inspectBytes(bytes: Uint8Array, path: string): InspectResult {
  const info = parseOnnx(bytes);
  return { path, size: bytes.length, hash: hashBytes(bytes), algo: 'blake3', ...info };
}

export function inspectModel(options: { file: string; display?: string }): ModelInspection {
  const display = options.display ?? options.file;
  const bytes = readModelFile(options.file, display);
  const info = inspectBytes(bytes, display);
  return { ...info, features: featuresOf(info, options.file, display) };
}

function featuresOf(info: InspectResult, file: string, display: string): InspectFeatures {
  let own: FeatureContract;
  try {
    own = resolveContract(info, { label: display });
  } catch (err) {
    // A malformed `feature_names` is what inspect is for: shown, not a failure to inspect the rest.
    if (!isMloError(err, 'MLO_BAD_ONNX')) throw err;
    return { source: 'none', problem: err.message };
  }
  if (own.source !== 'none') return own;
  // A package records the --columns it was made with in model.yaml beside the file; predict and serve
  // of the package use them, so inspecting its model file must not say "none".
  const dir = dirname(file);
  const displayDir = dirname(display);
  const yamlDisplay = toPosix(join(displayDir, 'model.yaml'));
  if (!existsSync(join(dir, 'model.yaml'))) return own;
  try {
    const pkg = loadModule<typeof Schema>(import.meta.url, './schema.js').readPackage(dir, displayDir);
    if (resolve(dir, pkg.model.path) !== resolve(file) || pkg.model.hash !== info.hash || !pkg.signature.columns) return own;
    return { columns: pkg.signature.columns, source: 'columns', file: yamlDisplay };
  } catch (err) {
    if (!isMloError(err)) throw err;
    return { ...own, problem: err.message };
  }
}
