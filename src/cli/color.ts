/**
 * Terminal colour, following the conventions chalk follows: NO_COLOR (any value) turns it off,
 * FORCE_COLOR (other than 0) turns it on, otherwise colour only when stdout is a terminal that is not
 * "dumb". Written here rather than loaded (chalk cost ~5 ms of every command's start-up).
 */
import { createRequire } from 'node:module';
import type * as Tty from 'node:tty';

function detect(): boolean {
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  // isatty(1), not process.stdout.isTTY: building the stdout stream would set a pipe non-blocking,
  // and stdout.ts's plain writes would then meet EAGAIN.
  const tty = createRequire(import.meta.url)('node:tty') as typeof Tty;
  return tty.isatty(1) && process.env.TERM !== 'dumb';
}

// Decided on first use: a command that prints no colour never loads node:tty.
let enabled: boolean | undefined;

function style(open: number, close: number): (text: string) => string {
  return (text) => ((enabled ??= detect()) ? `\x1b[${open}m${text}\x1b[${close}m` : text);
}

export const color = {
  /** 0 when colour is off, as chalk's `level`. */
  get level(): number {
    return (enabled ??= detect()) ? 1 : 0;
  },
  bold: style(1, 22),
  dim: style(2, 22),
  red: style(31, 39),
  green: style(32, 39),
  yellow: style(33, 39),
  cyan: style(36, 39),
};
