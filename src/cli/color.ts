/**
 * Terminal colour through chalk, decided per stream: `stdoutColor` for text written to stdout (command
 * results), `stderrColor` for text written to stderr (logs, warnings, errors), so `mlo ... 2>log` in a
 * terminal keeps escape codes out of the log. chalk's rules apply (FORCE_COLOR, TTY detection, TERM,
 * CI); mlo adds NO_COLOR (any non-empty value turns colour off unless FORCE_COLOR is set), which chalk
 * does not read.
 */
import { createRequire } from 'node:module';
import type * as Chalk from 'chalk';

export interface StreamColor {
  /** 0 when colour is off for this stream, as chalk's `level`. */
  readonly level: number;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

type Stream = 'stdout' | 'stderr';

// Loaded on first use: chalk loads node:tty, and node:tty loads net and the stream stack (~4 ms
// measured), which a command that prints no colour should not pay. chalk reads isatty(1) and
// isatty(2), never process.stdout: building the stdout stream would set a pipe non-blocking, and
// stdout.ts's plain writes would then meet EAGAIN.
let instances: Record<Stream, Chalk.ChalkInstance> | undefined;

function load(): Record<Stream, Chalk.ChalkInstance> {
  const chalk = createRequire(import.meta.url)('chalk') as typeof Chalk;
  const noColor = !!process.env.NO_COLOR && process.env.FORCE_COLOR === undefined;
  const levelOf = (support: Chalk.ColorInfo) => (noColor || !support ? 0 : support.level);
  return {
    stdout: new chalk.Chalk({ level: levelOf(chalk.supportsColor) }),
    stderr: new chalk.Chalk({ level: levelOf(chalk.supportsColorStderr) }),
  };
}

function streamColor(stream: Stream): StreamColor {
  const instance = () => (instances ??= load())[stream];
  return {
    get level() {
      return instance().level;
    },
    bold: (text) => instance().bold(text),
    dim: (text) => instance().dim(text),
    red: (text) => instance().red(text),
    green: (text) => instance().green(text),
    yellow: (text) => instance().yellow(text),
    cyan: (text) => instance().cyan(text),
  };
}

/** Colours text that goes to stdout. */
export const stdoutColor = streamColor('stdout');
/** Colours text that goes to stderr. */
export const stderrColor = streamColor('stderr');
