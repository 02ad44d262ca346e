/**
 * Glue between commander and a command's body: resolves the global flags (--json, -v, -q, -C) and the
 * command's own options, and hands the body an Output. Bodies throw, or return an Outcome; only main.ts
 * sets exit codes.
 */
import type { Command } from './commander.js';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { EXIT, usageError } from '../base/errors.js';
import { createOutput, type GlobalFlags, type Output } from './output.js';

export interface ActionContext<O> {
  out: Output;
  flags: GlobalFlags;
  /** The command's own options (global ones are in `flags`). */
  opts: O;
  command: Command;
}

export function globalFlags(command: Command): GlobalFlags {
  const all = command.optsWithGlobals() as { json?: boolean; verbose?: boolean; quiet?: boolean; cwd?: string };
  if (all.cwd !== undefined && !statSync(all.cwd, { throwIfNoEntry: false })?.isDirectory()) {
    throw usageError(`-C ${all.cwd}: no such directory`);
  }
  return {
    json: Boolean(all.json),
    verbose: Boolean(all.verbose),
    quiet: Boolean(all.quiet),
    cwd: resolve(process.cwd(), all.cwd ?? '.'),
  };
}

/**
 * What a body returns: nothing, or `{ failed: true }` when a check it ran failed (drift, validation,
 * `ci report --fail-on`, a failed queued run) after printing its full report: a finding, not an error.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: most handlers report nothing and are typed Promise<void>; this accepts them unchanged.
export type Outcome = void | { failed: boolean };

/** Commander drops what actions return, so the outcome of the one command that ran waits here for main.ts. */
let failedCheck = false;

/** The exit code the command's Outcome asks for (0 or 1); reading it resets it. */
export function takeOutcomeExitCode(): number {
  const code = failedCheck ? EXIT.failure : EXIT.ok;
  failedCheck = false;
  return code;
}

/**
 * Wraps a command body. Commander calls actions with (...positionals, options, command); the body gets
 * (ctx, ...positionals).
 */
export function action<O = Record<string, unknown>, A extends unknown[] = unknown[]>(
  body: (ctx: ActionContext<O>, ...args: A) => Promise<Outcome> | Outcome,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const opts = args[args.length - 2] as O;
    const positionals = args.slice(0, -2) as A;
    const flags = globalFlags(command);
    const outcome = await body({ out: createOutput(flags), flags, opts, command }, ...positionals);
    if (outcome?.failed) failedCheck = true;
  };
}
