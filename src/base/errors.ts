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
} as const;

export interface MloErrorOptions {
  hint?: string;
  cause?: unknown;
  meta?: ErrorMeta;
  /** Exit code; usage errors (bad flags, bad arguments) are 2, everything else 1. */
  exitCode?: number;
}

export class MloError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly meta?: ErrorMeta;
  readonly exitCode: number;

  constructor(code: string, message: string, options: MloErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MloError';
    this.code = code;
    this.hint = options.hint;
    this.meta = options.meta;
    this.exitCode = options.exitCode ?? EXIT.failure;
  }
}

export function usageError(message: string, hint?: string): MloError {
  return new MloError('MLO_USAGE', message, { hint, exitCode: EXIT.usage });
}

export function isMloError(err: unknown, code?: string): err is MloError {
  return err instanceof MloError && (code === undefined || err.code === code);
}

/** Node's system errors carry `code` (ENOENT, EACCES, ENOSPC...). */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
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
