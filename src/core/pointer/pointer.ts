import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../fsutil.js';
import { readYamlFile } from '../yamlfile.js';
import { POINTER_SUFFIX, pointerSchema, type Pointer } from './schema.js';

const HEADER = '# Tracked by mlo: commit this file; the data is in the mlo cache (mlo push / mlo pull share it).\n';

export function pointerFileFor(targetAbs: string): string {
  return targetAbs + POINTER_SUFFIX;
}

export function readPointer(fileAbs: string, displayName: string): Pointer {
  return readYamlFile(fileAbs, pointerSchema, displayName).value;
}

/** Writes a pointer with keys in a stable order (clean git diffs). */
export function writePointer(fileAbs: string, pointer: Pointer): void {
  const ordered: Record<string, unknown> = { path: pointer.path, hash: pointer.hash, algo: pointer.algo, size: pointer.size };
  if (pointer.files !== undefined) ordered.files = pointer.files;
  if (pointer.desc !== undefined) ordered.desc = pointer.desc;
  writeFileAtomic(fileAbs, HEADER + stringify(ordered), { fsync: false });
}

/** The absolute path a pointer tracks. */
export function pointerTarget(fileAbs: string, pointer: Pointer): string {
  return join(dirname(fileAbs), pointer.path);
}
