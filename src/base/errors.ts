/**
 * The one error type mlo throws on purpose. `code` is stable (scripts match on it), `message` names the
 * offending file, key or object, and `hint` says what to do next. The CLI turns it into one stderr line
 * and an exit code; anything else that escapes is a bug and is printed with its stack only under --verbose.
 */
export type ErrorMeta = Record<string, unknown>;

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** Ctrl-C: 128 + SIGINT, as shells report it. */
  interrupted: 130,
} as const;

/**
 * Every error code mlo reports, with its exit code and meaning. The codes appear in `--json` output and
 * scripts match on them: never rename one. docs/errors.md is this table for users (errors.test.ts
 * checks that the two agree).
 */
export const ERROR_CODES = {
  MLO_ADDRESS_UNAVAILABLE: { exit: 1, what: 'a server cannot listen on the address given (not on this machine, unknown host, or a privileged port)' },
  MLO_AMBIGUOUS_RUN: { exit: 1, what: 'a run id prefix matches more than one run' },
  MLO_BAD_ALIAS: { exit: 2, what: 'a model alias name is not valid' },
  MLO_BAD_BRANCH: { exit: 2, what: 'a branch name given to `exp` is not a valid git branch name' },
  MLO_BAD_CONFIG: { exit: 1, what: '`.mlo/config.yaml` or `.mlo/config.local.yaml` is not valid YAML or breaks the config schema' },
  MLO_BAD_CSV: { exit: 1, what: 'a CSV file is malformed (unclosed quote, ragged row, bad header)' },
  MLO_BAD_EXAMPLE: { exit: 1, what: 'the example input given to `model add` cannot be read' },
  MLO_BAD_FILE: { exit: 1, what: 'a file mlo reads does not match its schema (the message names the key)' },
  MLO_BAD_INPUT: { exit: 1, what: 'an input file for `predict` lacks a column or holds a value the model cannot take' },
  MLO_BAD_JSON: { exit: 1, what: 'a line of a JSON Lines file is not a JSON object' },
  MLO_BAD_KEY: { exit: 1, what: 'a metric or param key is empty or longer than 250 characters' },
  MLO_BAD_LOCK: { exit: 1, what: '`mlo.lock` is not valid YAML or breaks its schema' },
  MLO_BAD_MANIFEST: { exit: 1, what: 'a directory manifest in the cache or on a remote is malformed' },
  MLO_BAD_METRICS: { exit: 1, what: 'a metrics file cannot be parsed' },
  MLO_BAD_NAME: { exit: 2, what: 'a model name is not valid' },
  MLO_BAD_ONNX: { exit: 1, what: 'a file is not a valid ONNX model' },
  MLO_BAD_PARAMS: { exit: 1, what: 'a params file cannot be parsed or holds a value of the wrong kind' },
  MLO_BAD_PATH: { exit: 1, what: 'a path in `mlo.yaml` is inside `.git`, beyond a symlink, or outside the repository' },
  MLO_BAD_PIPELINE: { exit: 1, what: '`mlo.yaml` breaks its schema (two stages with one name, a bad key)' },
  MLO_BAD_QUERY: { exit: 2, what: 'a request to the `mlo ui` API has a malformed, repeated or oversized query parameter' },
  MLO_BAD_REF: { exit: 2, what: 'a model reference is not NAME, NAME@VERSION or NAME@ALIAS' },
  MLO_BAD_REMOTE: { exit: 1, what: 'a remote URL is not `s3://BUCKET/PREFIX` or a local folder' },
  MLO_BAD_RUN_FILE: { exit: 1, what: 'a run file of `exp` or `queue` is not valid JSON' },
  MLO_BAD_SERVE_LOG: { exit: 1, what: 'a line of a serve request log is malformed' },
  MLO_BAD_TEMPLATE: { exit: 1, what: 'a `${...}` template in `mlo.yaml` names an undefined value' },
  MLO_BAD_YAML: { exit: 1, what: 'a YAML file is not valid YAML' },
  MLO_BRANCH_EXISTS: { exit: 1, what: 'the branch `exp` would create already exists' },
  MLO_BROKEN_FILES: { exit: 1, what: '`fsck` found pointer files or `mlo.lock` entries it cannot read (bad YAML, a refused size, hash or path)' },
  MLO_CHANGED_WHILE_READING: { exit: 1, what: 'a file changed while mlo hashed or copied it' },
  MLO_COMMAND_NOT_FOUND: { exit: 1, what: 'a stage command was not found (its shell exited 127)' },
  MLO_COMMIT_NOT_PUSHED: { exit: 1, what: 'a queued job names a commit that is not on the git remote (push it first), or a worker cannot fetch it' },
  MLO_CONTAINS_TRACKED: { exit: 1, what: 'a path to add contains a path mlo already tracks' },
  MLO_CORRUPT_CACHE: { exit: 1, what: '`fsck` found corrupt or truncated cache objects' },
  MLO_CORRUPT_OBJECT: { exit: 1, what: 'a cache object does not match its hash' },
  MLO_CORRUPT_REMOTE_OBJECT: { exit: 1, what: 'a remote holds a corrupt copy of an object; it was not stored in the cache' },
  MLO_CYCLE: { exit: 1, what: 'the stages of `mlo.yaml` form a cycle' },
  MLO_DB_CANT_OPEN: { exit: 1, what: 'the tracking database cannot be opened: a folder is in its place, or it is not readable' },
  MLO_DB_CORRUPT: { exit: 1, what: 'the tracking database has broken references' },
  MLO_DB_LOCKED: { exit: 1, what: 'a database is locked by another process' },
  MLO_DB_TOO_NEW: { exit: 1, what: 'a database was written by a newer mlo' },
  MLO_DISK_FULL: { exit: 1, what: 'no space left on the local disk; nothing was lost' },
  MLO_DUPLICATE_OUT: { exit: 1, what: 'two stages (or one stage twice) declare the same out' },
  MLO_EMPTY_DATA: { exit: 1, what: 'a data file to compare has no rows' },
  MLO_EMPTY_INPUT: { exit: 1, what: 'an input file for `predict` has no rows' },
  MLO_EXAMPLE_MISMATCH: { exit: 1, what: 'a model no longer gives its recorded output for its recorded input example (`model verify`, `serve` start-up)' },
  MLO_FEATURE_MISMATCH: { exit: 2, what: '`--columns` contradicts the feature names or the input width of the model' },
  MLO_FILE_EXISTS: { exit: 1, what: '`init` would overwrite an existing file' },
  MLO_GIT: { exit: 1, what: 'a git command failed' },
  MLO_INSIDE_TRACKED: { exit: 1, what: 'a path to add is inside a folder mlo already tracks' },
  MLO_INTERNAL: { exit: 1, what: 'an unexpected error: a bug in mlo (`--json` only; `--verbose` prints the stack)' },
  MLO_INTERRUPTED: { exit: 130, what: '`run` or `exp run` was stopped by Ctrl-C; finished stages are recorded' },
  MLO_LOCKED: { exit: 1, what: 'another mlo process holds the repository lock' },
  MLO_MISSING_DEP: { exit: 1, what: 'a stage dep does not exist' },
  MLO_MISSING_FROM_CACHE: { exit: 1, what: 'tracked content is not in the cache (`mlo fetch` downloads it)' },
  MLO_MISSING_MANIFEST: { exit: 1, what: '`fsck` found tracked directories whose manifest is not in the cache' },
  MLO_MISSING_OBJECT: { exit: 1, what: 'an object a stage needs to restore is not in the cache' },
  MLO_MISSING_ON_REMOTE: { exit: 1, what: 'objects to download are not on the remote' },
  MLO_MISSING_OUT: { exit: 1, what: 'a stage succeeded but did not write one of its outs' },
  MLO_MISSING_PARAMS: { exit: 1, what: 'a params file named in `mlo.yaml` does not exist' },
  MLO_MODEL_LOAD: { exit: 1, what: 'a model does not load in onnxruntime' },
  MLO_MODEL_MISSING: { exit: 1, what: 'a registered model file is neither in the work tree nor in the cache' },
  MLO_MODEL_RUN: { exit: 1, what: 'onnxruntime failed on a batch of rows' },
  MLO_NOT_A_FOLDER: { exit: 1, what: 'a path that must be a folder is a file' },
  MLO_NOT_A_PACKAGE: { exit: 1, what: 'a folder is not a model package (no `model.yaml`)' },
  MLO_NOT_A_REPO: { exit: 1, what: 'no `.mlo/` folder in the current folder or above' },
  MLO_NOT_BATCHABLE: { exit: 1, what: 'a model input has no free batch dimension' },
  MLO_NOT_FOUND: { exit: 1, what: 'a file or folder does not exist' },
  MLO_NOT_GIT: { exit: 1, what: 'the folder is not inside a git work tree' },
  MLO_NOT_NUMERIC: { exit: 1, what: 'a column that must be numeric holds text' },
  MLO_NOT_TRACKED: { exit: 1, what: 'a path is not tracked by mlo' },
  MLO_NO_BROKER: { exit: 1, what: '`mlo queue worker` or `queue cancel --all` needs `queue.broker` (or `$MLO_QUEUE_BROKER`) and none is set' },
  MLO_NO_COMMIT: { exit: 1, what: 'a run has no git commit recorded' },
  MLO_NO_EXAMPLE: { exit: 1, what: 'a model package or version has no recorded example output to verify against' },
  MLO_NO_GIT: { exit: 1, what: 'git could not be run' },
  MLO_NO_LOG: { exit: 1, what: 'a queued run has no log yet' },
  MLO_NO_PIPELINE: { exit: 1, what: 'there is no `mlo.yaml`' },
  MLO_NO_REMOTE: { exit: 1, what: 'no remote is configured, or none is the default' },
  MLO_NOTHING_COMPARED: { exit: 2, what: '`monitor drift` found no column that both files hold' },
  MLO_NO_REQUESTS: { exit: 1, what: 'a serve request log holds no requests (for the model)' },
  MLO_NO_RUN: { exit: 1, what: '`mlo log` ran outside a run (`$MLO_RUN_ID` is not set)' },
  MLO_OUTSIDE_REPO: { exit: 1, what: 'a path is outside the repository' },
  MLO_OUT_IN_DEP: { exit: 1, what: 'a stage out is also (inside) one of its deps' },
  MLO_OUT_IN_GIT: { exit: 1, what: 'a stage out is tracked by git' },
  MLO_OVERLAPPING_PATHS: { exit: 1, what: 'a stage out overlaps a path tracked with `mlo add`' },
  MLO_PACKAGE_CHANGED: { exit: 1, what: "a model package's file is not the one its `model.yaml` describes" },
  MLO_PERMISSION: { exit: 1, what: 'permission denied on a local file' },
  MLO_PORT_IN_USE: { exit: 1, what: 'the port `serve` should listen on is in use' },
  MLO_QUEUE_CLIENT_MISSING: { exit: 1, what: 'the Redis client package (ioredis) that the queue broker needs is not installed' },
  MLO_QUEUE_DIRTY: { exit: 1, what: 'jobs for the shared queue run a commit, and tracked files differ from it (commit and push them)' },
  MLO_QUEUE_UNREACHABLE: { exit: 1, what: 'the queue broker (Redis) cannot be reached' },
  MLO_REMOTE_AUTH: { exit: 1, what: 'the remote refused the credentials' },
  MLO_REMOTE_DELETE: { exit: 1, what: 'a remote could not delete objects' },
  MLO_REMOTE_DISK_FULL: { exit: 1, what: "no space left on a folder remote's disk" },
  MLO_REMOTE_EXISTS: { exit: 1, what: 'a remote with that name already exists' },
  MLO_REMOTE_NOT_FOUND: { exit: 1, what: 'the remote has no such object' },
  MLO_REMOTE_NOT_WRITABLE: { exit: 1, what: 'a folder remote is not writable' },
  MLO_REMOTE_NO_BUCKET: { exit: 1, what: 'the S3 bucket does not exist' },
  MLO_REMOTE_UNAVAILABLE: { exit: 1, what: 'the remote could not be reached (after retries)' },
  MLO_RUN_ACTIVE: { exit: 1, what: 'a run is still running' },
  MLO_RUN_ENDED: { exit: 1, what: 'a run has already ended' },
  MLO_RUN_FAILED: { exit: 1, what: 'an experiment run failed, or was not recorded' },
  MLO_RUN_NOT_DONE: { exit: 1, what: 'only a finished run can be applied' },
  MLO_SECRET_IN_SHARED_CONFIG: {
    exit: 1,
    what: 'a credential is in the committed `.mlo/config.yaml` (exit 2 when `remote modify` is asked to write one there)',
  },
  MLO_SIZE_MISMATCH: { exit: 1, what: 'a pointer or `mlo.lock` entry records a size or file count that its cached object does not have' },
  MLO_STAGE_EXISTS: { exit: 1, what: 'a stage with that name already exists' },
  MLO_STAGE_FAILED: { exit: 1, what: 'a stage command failed or was killed' },
  MLO_STAGE_OUTPUT: { exit: 1, what: 'a path to add is an out of a stage' },
  MLO_STATE_DB: { exit: 1, what: 'the state database cannot be opened' },
  MLO_SYMLINK_IN_PATH: { exit: 1, what: 'a path goes through a symlink where a real folder or file is needed' },
  MLO_TRACKED_BY_GIT: { exit: 1, what: 'a path to add is already tracked by git' },
  MLO_TRACKING_WARNING: { exit: 1, what: 'the tracking hooks of a run reported problems' },
  MLO_UNAUTHORIZED: { exit: 1, what: 'a request to the `mlo ui` API lacks the token the UI was started with' },
  MLO_BAD_HOST: { exit: 1, what: 'a request to `mlo ui` (started without a token) names a Host other than the loopback address and port it listens on' },
  MLO_UNKNOWN_ALIAS: { exit: 1, what: 'a model has no such alias' },
  MLO_UNKNOWN_JOB: { exit: 1, what: 'no job of the shared queue has that run id (or prefix)' },
  MLO_UNKNOWN_MANIFEST: { exit: 1, what: '`gc` or `gc --cloud` refused: a directory manifest is missing (`--force` goes on)' },
  MLO_UNKNOWN_METRIC: { exit: 2, what: 'no run has the metric or param named' },
  MLO_UNKNOWN_MODEL: { exit: 1, what: 'no model of that name in the registry' },
  MLO_UNKNOWN_PARAM: { exit: 1, what: 'a param key is not in its params file' },
  MLO_UNKNOWN_REMOTE: { exit: 1, what: 'no remote of that name' },
  MLO_UNKNOWN_REV: { exit: 1, what: 'unknown git revision' },
  MLO_UNKNOWN_RUN: { exit: 1, what: 'no run with that id, id prefix or name' },
  MLO_UNKNOWN_STAGE: { exit: 1, what: 'no stage of that name in `mlo.yaml`' },
  MLO_UNKNOWN_VERSION: { exit: 1, what: 'a model version is not registered' },
  MLO_UNSAFE_PATH: { exit: 1, what: 'a path in a pointer file or `mlo.lock` points into `.mlo/` or leaves the repository' },
  MLO_UNSUPPORTED: { exit: 1, what: 'a model input kind or shape that `predict` cannot feed' },
  MLO_UNSUPPORTED_FILE: { exit: 1, what: 'a path to add is a symlink, or neither a file nor a folder' },
  MLO_UNSUPPORTED_NAME: { exit: 1, what: 'a file name mlo cannot record (a line break in it)' },
  MLO_UNTRUSTED_PATH: {
    exit: 1,
    what: '`cache.dir` in the committed config, or a symlink in `.mlo/`, leads outside the repository and the local config does not confirm it',
  },
  MLO_USAGE: { exit: 2, what: 'usage error: unknown command or flag, missing argument, bad flag value' },
  MLO_WOULD_LOSE_DATA: { exit: 1, what: 'checkout would overwrite or delete content that is not in the cache' },
} as const satisfies Record<string, { exit: number; what: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

export interface MloErrorOptions {
  hint?: string;
  cause?: unknown;
  meta?: ErrorMeta;
  /**
   * Overrides the code's exit code from ERROR_CODES: for an error re-thrown with more context, and for
   * MLO_SECRET_IN_SHARED_CONFIG, a usage error (2) when `remote modify` is asked to write the secret.
   */
  exitCode?: number;
}

export class MloError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly meta?: ErrorMeta;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: MloErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MloError';
    this.code = code;
    this.hint = options.hint;
    this.meta = options.meta;
    this.exitCode = options.exitCode ?? ERROR_CODES[code].exit;
  }
}

export function usageError(message: string, hint?: string): MloError {
  return new MloError('MLO_USAGE', message, { hint });
}

export function isMloError(err: unknown, code?: ErrorCode): err is MloError {
  return err instanceof MloError && (code === undefined || err.code === code);
}

/** Node's system errors carry `code` (ENOENT, EACCES, ENOSPC...). */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * The system errors a user can cause and fix (a port in use, an address not on this machine, no
 * permission, a full disk) as MloErrors naming the address or path, for an error that escaped without
 * one; undefined for anything else, which is then a bug. main.ts applies it to every uncaught error.
 */
export function explainOsError(err: unknown): MloError | undefined {
  const code = errnoCode(err);
  if (code === undefined || !(err instanceof Error)) return undefined;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
  const where = e.address === undefined ? undefined : e.port === undefined ? e.address : `${e.address}:${e.port}`;
  const listening = e.syscall === 'listen' || e.syscall === 'bind';
  switch (code) {
    case 'EADDRINUSE':
      return new MloError('MLO_PORT_IN_USE', `${where ?? 'the address'} is already in use`, {
        cause: err,
        hint: 'stop the other server or choose another --port (0 picks a free one)',
      });
    case 'EADDRNOTAVAIL':
      return new MloError('MLO_ADDRESS_UNAVAILABLE', `cannot listen on ${where ?? 'that address'}: it is not an address of this machine`, {
        cause: err,
        hint: 'use --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface)',
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      if (e.syscall !== 'getaddrinfo') return undefined;
      return new MloError('MLO_ADDRESS_UNAVAILABLE', `cannot resolve host '${e.hostname ?? '?'}'`, {
        cause: err,
        hint: 'check the --host name, or give an IP address such as 127.0.0.1',
      });
    case 'EACCES':
    case 'EPERM':
      if (listening) {
        return new MloError('MLO_ADDRESS_UNAVAILABLE', `permission denied to listen on ${where ?? 'that port'}`, {
          cause: err,
          hint: 'ports below 1024 need privileges: choose a --port of 1024 or above',
        });
      }
      if (e.path === undefined) return undefined;
      return new MloError('MLO_PERMISSION', `${e.path}: permission denied`, {
        cause: err,
        hint: 'check the file permissions, or run mlo as a user that may read and write it',
      });
    case 'ENOSPC':
    case 'EDQUOT':
      return new MloError('MLO_DISK_FULL', `${e.path ? `${e.path}: ` : ''}no space left on device`, {
        cause: err,
        hint: 'free some space (mlo gc removes unused cache objects) and run the command again',
      });
    default:
      return undefined;
  }
}

/**
 * Turns the system errors a user can fix into MloErrors that name the path; rethrows anything else.
 */
export function explainFsError(err: unknown, path: string): never {
  const code = errnoCode(err);
  switch (code) {
    case 'ENOENT':
      throw new MloError('MLO_NOT_FOUND', `${path}: no such file or directory`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      throw new MloError('MLO_PERMISSION', `${path}: permission denied`, {
        cause: err,
        hint: 'check the file permissions, or run mlo as a user that may read and write it',
      });
    case 'ENOSPC':
    case 'EDQUOT':
      throw new MloError('MLO_DISK_FULL', `${path}: no space left on device`, {
        cause: err,
        hint: 'free some space (mlo gc removes unused cache objects) and run the command again; nothing was lost',
      });
    default:
      throw err;
  }
}
