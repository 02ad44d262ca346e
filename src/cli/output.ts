/**
 * Everything mlo prints goes through here: data to stdout (human text, or one JSON document under
 * --json), logs, warnings and progress to stderr. Colour is decided per stream (see color.ts).
 */
import { createRequire } from 'node:module';
import type StringWidth from 'string-width';
import { stderrColor, stdoutColor } from './color.js';
import { writeStdout } from './stdout.js';

export interface GlobalFlags {
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  cwd: string;
}

export interface Output {
  flags: GlobalFlags;
  /** Prints the command's result: `human()` normally, `JSON.stringify(json)` under --json. */
  result(json: unknown, human: () => string | string[] | undefined): void;
  /** Prints lines to stdout as they are, under --json too: a --md or --csv table, or JSON built elsewhere. */
  print(lines: string | string[]): void;
  info(message: string): void;
  verbose(message: string): void;
  warn(message: string): void;
  progress(label: string, totals?: { files?: number; bytes?: number }): Progress;
}

export interface Progress {
  update(done: { files?: number; bytes?: number }): void;
  /** Sets the totals once they are known (after a walk), which enables the ETA. */
  total(totals: { files?: number; bytes?: number }): void;
  done(): void;
}

export { stderrColor, stdoutColor };

export function createOutput(flags: GlobalFlags): Output {
  return {
    flags,
    result(json, human) {
      if (flags.json) {
        writeStdout(`${JSON.stringify(json, null, 2)}\n`);
        return;
      }
      const text = human();
      if (text === undefined) return;
      const lines = Array.isArray(text) ? text : [text];
      if (lines.length) writeStdout(`${lines.join('\n')}\n`);
    },
    print(lines) {
      writeStdout(`${Array.isArray(lines) ? lines.join('\n') : lines}\n`);
    },
    info(message) {
      if (!flags.quiet && !flags.json) process.stderr.write(`${message}\n`);
    },
    verbose(message) {
      if (flags.verbose) process.stderr.write(`${stderrColor.dim(message)}\n`);
    },
    warn(message) {
      if (!flags.quiet) process.stderr.write(`${stderrColor.yellow('warning:')} ${message}\n`);
    },
    progress(label, totals) {
      return flags.quiet || !process.stderr.isTTY ? silentProgress : ttyProgress(label, totals ?? {});
    },
  };
}

const silentProgress: Progress = { update() {}, total() {}, done() {} };

/** A one-line progress bar redrawn at most 10 times a second: files, bytes, rate and ETA. */
function ttyProgress(label: string, initialTotals: { files?: number; bytes?: number }): Progress {
  let totals = initialTotals;
  const started = Date.now();
  let last = 0;
  let current: { files?: number; bytes?: number } = {};
  const draw = (final: boolean) => {
    const secs = Math.max((Date.now() - started) / 1000, 0.001);
    const parts = [label];
    if (current.files !== undefined) parts.push(totals.files ? `${current.files}/${totals.files} files` : `${current.files} files`);
    if (current.bytes !== undefined) {
      parts.push(totals.bytes ? `${formatBytes(current.bytes)}/${formatBytes(totals.bytes)}` : formatBytes(current.bytes));
      parts.push(`${formatBytes(current.bytes / secs)}/s`);
      if (totals.bytes && current.bytes > 0 && !final) {
        const eta = ((totals.bytes - current.bytes) / current.bytes) * secs;
        parts.push(`ETA ${formatDuration(eta)}`);
      }
    }
    process.stderr.write(`\r\x1b[K${parts.join('  ')}${final ? '\n' : ''}`);
  };
  return {
    total(t) {
      totals = { ...totals, ...t };
    },
    update(done) {
      current = { ...current, ...done };
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        draw(false);
      }
    },
    done() {
      if (Date.now() - started > 200) draw(true);
      else process.stderr.write('\r\x1b[K');
    },
  };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function formatDuration(secs: number): string {
  if (!Number.isFinite(secs)) return '?';
  if (secs < 60) return `${Math.ceil(secs)}s`;
  const m = Math.floor(secs / 60);
  return `${m}m${String(Math.ceil(secs % 60)).padStart(2, '0')}s`;
}

/** Renders rows as an aligned text table for stdout (human output of list-like commands). */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const fmt = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]))).join('  ');
  return [stdoutColor.bold(fmt(header)), ...rows.map(fmt)];
}

/** `text` followed by spaces up to `width` terminal columns (a CJK character or an emoji takes two). */
export function pad(text: string, width: number): string {
  const missing = width - displayWidth(text);
  return missing > 0 ? text + ' '.repeat(missing) : text;
}

// One column per character: printable ASCII (string-width's own fast path) and the \u2605 that marks
// exp show's best values without colour (East Asian "ambiguous", which string-width counts as one).
// Checked here so that such text never loads string-width: on Node 20 its first call took ~70 ms of
// CPU (loading, Intl.Segmenter, its emoji regular expressions) and each later string ~30 us (measured
// on a busy 2-core machine), against well under 1 us for this test.
const PLAIN = /^[\x20-\x7e\u2605]*$/;
const ANSI_STYLE = /\x1b\[[0-9;]*m/g;

let stringWidth: typeof StringWidth | undefined;

/** Terminal columns `text` takes, ignoring colour codes. */
export function displayWidth(text: string): number {
  const plain = text.includes('\x1b') ? text.replace(ANSI_STYLE, '') : text;
  if (PLAIN.test(plain)) return plain.length;
  stringWidth ??= (createRequire(import.meta.url)('string-width') as { default: typeof StringWidth }).default;
  return stringWidth(plain);
}

/**
 * The width of the terminal stdout is, or undefined when stdout is not a terminal (then tables print
 * in full, for pipes and files). COLUMNS, when set, wins, as for git and less.
 */
export function terminalColumns(): number | undefined {
  // Only on a terminal: building process.stdout for a pipe would make it non-blocking (see stdout.ts).
  // node:tty is required here, not imported: it loads net and the stream stack (~4 ms, see color.ts).
  const { isatty } = createRequire(import.meta.url)('node:tty') as typeof import('node:tty');
  if (!isatty(1)) return undefined;
  const env = Number(process.env.COLUMNS);
  const columns = Number.isInteger(env) && env > 0 ? env : process.stdout.columns;
  return columns > 0 ? columns : undefined;
}

/** `text` cut to at most `width` terminal columns, ending in an ellipsis when it was cut. */
export function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 0) return '';
  let out = '';
  let used = 0;
  // Whole code points (a CJK character is two columns, never split).
  for (const ch of text) {
    const w = displayWidth(ch);
    if (used + w > width - 1) break;
    out += ch;
    used += w;
  }
  return `${out}\u2026`;
}

/**
 * Column widths that fit `max` terminal columns with `gap` between columns: the widest columns give
 * way first, down to `min` each. Returns the widths and how many leading columns fit (the rest are left
 * out when even the narrowest widths are too wide).
 */
export function fitWidths(widths: number[], options: { max: number; gap: number; min: number[] }): { widths: number[]; shown: number } {
  const fitted = [...widths];
  const total = (n: number) => fitted.slice(0, n).reduce((a, b) => a + b, 0) + options.gap * Math.max(n - 1, 0);
  let shown = fitted.length;
  while (total(shown) > options.max) {
    // Narrow the widest column that can still give way, one column at a time.
    let widest = -1;
    for (let i = 0; i < shown; i++) if (fitted[i] > options.min[i] && (widest < 0 || fitted[i] > fitted[widest])) widest = i;
    if (widest < 0) {
      if (shown === 1) break;
      shown--;
      continue;
    }
    fitted[widest]--;
  }
  return { widths: fitted, shown };
}
