/**
 * Reads the YAML files mlo understands (config, pointers, mlo.yaml, model.yaml) through a zod schema,
 * so every error names the file, the line and the key. The yaml package keeps node ranges; a
 * LineCounter turns a zod issue's path into a line number.
 */
import { readFileSync } from 'node:fs';
import type { Document, LineCounter } from 'yaml';
import { yaml } from './lazy-yaml.js';
import type { ZodType, ZodTypeDef } from 'zod';
import { type ErrorCode, MloError, explainFsError } from './errors.js';

export interface ParsedYaml<T> {
  value: T;
  doc: Document;
  lines: LineCounter;
}

export function parseYamlText<T>(text: string, file: string, schema: ZodType<T, ZodTypeDef, unknown>): ParsedYaml<T> {
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    const pos = first.linePos?.[0];
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    throw new MloError('MLO_BAD_YAML', `${where}: invalid YAML: ${first.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`, {
      hint: 'fix the syntax and run the command again',
    });
  }
  const raw = yamlToJs(doc, file) ?? {};
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    // An unknown key is reported at its own line, not at the object holding it.
    const keyPath = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
    const line = lineOf(doc, lines, keyPath);
    const where = line ? `${file}:${line}` : file;
    const key = issue.path.length ? issue.path.join('.') : '(top level)';
    throw new MloError('MLO_BAD_FILE', `${where}: ${key}: ${issue.message}`, {
      hint: 'see docs/file-formats.md for the fields this file may hold',
      meta: { file, line, key },
    });
  }
  return { value: result.data, doc, lines };
}

/**
 * A committed YAML file may be hostile: nested aliases (`b: [*a, *a, ...]`, "billion laughs") expand
 * exponentially. The yaml package stops at maxAliasCount with a bare ReferenceError; this names the file.
 */
const MAX_ALIAS_COUNT = 100;

function isAliasBomb(err: unknown): boolean {
  return err instanceof ReferenceError && err.message.startsWith('Excessive alias count');
}

function aliasBombError(file: string, code: ErrorCode): MloError {
  return new MloError(code, `${file}: too many YAML alias expansions (more than ${MAX_ALIAS_COUNT}); refusing a possible alias bomb`, {
    hint: `remove the nested aliases (*name) from ${file}`,
    meta: { file },
  });
}

/** `doc.toJS()` with the alias limit, its refusal an MloError naming `file`. */
export function yamlToJs(doc: Document, file: string, code: ErrorCode = 'MLO_BAD_YAML'): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (isAliasBomb(err)) throw aliasBombError(file, code);
    throw err;
  }
}

/** `yaml.parse(text)` with the alias limit, its refusal an MloError naming `file`; syntax errors pass through. */
export function parseYaml(text: string, file: string, code: ErrorCode = 'MLO_BAD_YAML'): unknown {
  try {
    return yaml().parse(text, { maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (isAliasBomb(err)) throw aliasBombError(file, code);
    throw err;
  }
}

export function readYamlFile<T>(file: string, schema: ZodType<T, ZodTypeDef, unknown>, displayName = file): ParsedYaml<T> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    explainFsError(err, displayName);
  }
  return parseYamlText(text, displayName, schema);
}

/** The 1-based line of the deepest node that exists along `path`. */
export function lineOf(doc: Document, lines: LineCounter, path: readonly (string | number)[]): number | undefined {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (yaml().isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
