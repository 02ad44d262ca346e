/**
 * The names of the files and folders mlo keeps in a repository: the one definition of each. Imports
 * nothing, so the no-op paths of `mlo run` and `mlo status` can use them without loading yaml or zod.
 */

/** The folder beside .git that holds the config, the cache (by default) and the state. */
export const MLO_DIR = '.mlo';
/** The user-written pipeline. */
export const PIPELINE_FILE = 'mlo.yaml';
/** The machine-written lock file of the pipeline: every stage's hashes. */
export const LOCK_FILE = 'mlo.lock';
