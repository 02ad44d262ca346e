/**
 * File names and naming rules of pipelines, apart from the zod schemas in schema.ts: the no-op path of
 * `mlo run` needs these constants but not zod (whose load costs ~8 ms).
 */

export const PIPELINE_FILE = 'mlo.yaml';
/** The same name as tracked.ts's LOCK_FILE (a test checks it), without loading that module's yaml and git. */
export const LOCK_FILE = 'mlo.lock';
export const DEFAULT_PARAMS_FILE = 'params.yaml';
/** Joins a generated stage's base name and its item, as in `train@small`. */
export const JOIN = '@';

export const STAGE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
