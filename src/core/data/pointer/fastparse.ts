/**
 * A reader for pointer files exactly as mlo writes them: comment lines, then `key: value` lines with
 * plain values. It saves loading the YAML parser and zod (~25 ms) on `status` and `run`. Anything it
 * is not certain about (quotes, `desc`, unusual names, a value YAML would read as a number or a
 * boolean) returns undefined and the full YAML + schema reader decides, so both always agree.
 */
import { isSafeRelPath, type Pointer } from './paths.js';

// A plain YAML scalar that can only be a string: starts with a letter or underscore, no spaces,
// colons, quotes or '#'. true/false/null are excluded below.
const PLAIN_PATH = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
// A hash YAML reads as a string for sure: some letter other than 'e' (all digits, or digits with one
// 'e', would be a number), or the '.dir' suffix.
const PLAIN_HASH = /^[0-9a-f]{64}(\.dir)?$/;
const NOT_A_NUMBER = /[a-df]|\.dir$/;
const COUNT = /^(0|[1-9][0-9]{0,15})$/;

export function parsePointerFast(text: string): Pointer | undefined {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(path|hash|algo|size|files): (\S+)$/.exec(line);
    if (!m || fields.has(m[1])) return undefined;
    fields.set(m[1], m[2]);
  }
  const path = fields.get('path');
  const hash = fields.get('hash');
  const size = fields.get('size');
  const files = fields.get('files');
  if (path === undefined || !PLAIN_PATH.test(path) || /^(true|false|null)$/i.test(path) || !isSafeRelPath(path)) return undefined;
  if (hash === undefined || !PLAIN_HASH.test(hash) || !NOT_A_NUMBER.test(hash)) return undefined;
  if (fields.get('algo') !== 'blake3') return undefined;
  if (size === undefined || !COUNT.test(size) || (files !== undefined && !COUNT.test(files))) return undefined;
  // Sixteen digits can pass 2^53-1: the schema refuses those, with the pointer named.
  const pointer: Pointer = { path, hash, algo: 'blake3', size: Number(size) };
  if (!Number.isSafeInteger(pointer.size)) return undefined;
  if (files !== undefined) pointer.files = Number(files);
  if (pointer.files !== undefined && !Number.isSafeInteger(pointer.files)) return undefined;
  return pointer;
}
