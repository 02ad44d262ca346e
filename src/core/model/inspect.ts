/** `mlo model inspect`: what an ONNX file declares, read from its protobuf without running it. */
import { readFileSync } from 'node:fs';
import { explainFsError } from '../../base/errors.js';
import { hashBytes } from '../data/hash/blake3.js';
import { parseOnnx, type OnnxModelInfo } from './onnx.js';

export interface InspectResult extends OnnxModelInfo {
  path: string;
  size: number;
  hash: string;
  algo: 'blake3';
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

export function inspectModel(options: { file: string; display?: string }): InspectResult {
  const bytes = readModelFile(options.file, options.display);
  return inspectBytes(bytes, options.display ?? options.file);
}
