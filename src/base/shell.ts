/**
 * Paths in hints are commands the user pastes into a shell, from the folder mlo was run in: they must
 * be relative to that folder and survive the shell's word splitting, globbing and expansions.
 */
import { isAbsolute, join, relative, sep } from 'node:path';

// Characters no POSIX shell (nor zsh) splits on or expands anywhere in a word. `=` is safe after the
// first character only (zsh expands `=cmd` at the start of a word); `~` is never safe (bash expands it
// after `=` and `:` too, as in `a=~/x`).
const SAFE = /^[A-Za-z0-9_@%+:,./-][A-Za-z0-9_@%+:,./=-]*$/;

/** `arg` as one POSIX shell word: unchanged when nothing in it is special, else in single quotes. */
export function shellQuote(arg: string): string {
  if (SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * `rel` (relative to the repository root `root`, with `/`) as a path from `cwd`, quoted for the shell.
 * A name starting with `-` gets `./` so that git does not read it as an option.
 */
export function shellPath(root: string, cwd: string, rel: string): string {
  const abs = join(root, rel);
  let path = relative(cwd, abs);
  if (isAbsolute(path)) return shellQuote(path); // another drive on Windows
  path = path.split(sep).join('/');
  if (path === '') path = '.';
  else if (path.startsWith('-')) path = `./${path}`;
  return shellQuote(path);
}
