import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../../base/fs.js';
import { yaml } from '../../../base/lazy-yaml.js';
import { explainFsError } from '../../../base/errors.js';
import { parseYamlText } from '../../../base/yamlfile.js';
import { parsePointerFast } from './fastparse.js';
import { loadModule } from '../../../base/lazy-module.js';
import type * as Schema from './schema.js';

/** The zod schema, loaded only for pointers the fast reader declines (see fastparse.ts). */
function pointerSchemaLazy(): typeof Schema.pointerSchema {
  return loadModule<typeof Schema>(import.meta.url, './schema.js').pointerSchema;
}
import type { Pointer } from './paths.js';

const HEADER = '# Tracked by mlo: commit this file; the data is in the mlo cache (mlo push / mlo pull share it).\n';

export function readPointer(fileAbs: string, displayName: string): Pointer {
  let text: string;
  try {
    text = readFileSync(fileAbs, 'utf8');
  } catch (err) {
    explainFsError(err, displayName);
  }
  return parsePointerFast(text) ?? parseYamlText(text, displayName, pointerSchemaLazy()).value;
}

/** Writes a pointer with keys in a stable order (clean git diffs). */
export function writePointer(fileAbs: string, pointer: Pointer): void {
  const ordered: Record<string, unknown> = { path: pointer.path, hash: pointer.hash, algo: pointer.algo, size: pointer.size };
  if (pointer.files !== undefined) ordered.files = pointer.files;
  if (pointer.desc !== undefined) ordered.desc = pointer.desc;
  writeFileAtomic(fileAbs, HEADER + yaml().stringify(ordered), { fsync: false });
}
