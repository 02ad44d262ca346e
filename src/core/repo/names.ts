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
/** The params file stages read by default (DVC's name). */
export const DEFAULT_PARAMS_FILE = 'params.yaml';
/** In .mlo/: the committed config, and the git-ignored one that holds credentials and local settings. */
export const CONFIG_FILE = 'config.yaml';
export const LOCAL_CONFIG_FILE = 'config.local.yaml';
/** In .mlo/: the experiment tracking database (SQLite). */
export const TRACKING_DB = 'tracking.db';
