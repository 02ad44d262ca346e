/** An object named together with a tracked path that needs it: what sync messages and results report. */
import { MloError, isMloError } from '../../base/errors.js';

export interface ObjectRef {
  hash: string;
  /** A tracked path that needs the object. */
  path: string;
}

/** Orders by tracked path, so results and messages are stable from run to run. */
export function byPath(a: ObjectRef, b: ObjectRef): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** Adds "(needed by PATH)" to an mlo error from a transfer; other errors pass through unchanged. */
export function withPath(err: unknown, usedBy: string): unknown {
  if (!isMloError(err)) return err;
  return new MloError(err.code, `${err.message} (needed by ${usedBy})`, { hint: err.hint, cause: err.cause ?? err, meta: err.meta, exitCode: err.exitCode });
}
