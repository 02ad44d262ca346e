/**
 * File names and naming rules of pipelines, apart from the zod schemas in schema.ts: the no-op path of
 * `mlo run` needs these constants but not zod (whose load costs ~8 ms).
 */

import { LOCK_FILE, PIPELINE_FILE } from '../repo/names.js';

export { LOCK_FILE, PIPELINE_FILE };
import { DEFAULT_PARAMS_FILE } from '../repo/names.js';

export { DEFAULT_PARAMS_FILE };
/** Joins a generated stage's base name and its item, as in `train@small`. */
export const JOIN = '@';

export const STAGE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
