/**
 * Terminal colour, following the conventions chalk follows: NO_COLOR (any value) turns it off,
 * FORCE_COLOR (other than 0) turns it on, otherwise colour only when stdout is a terminal that is not
 * "dumb". Written here rather than loaded (chalk cost ~5 ms of every command's start-up).
 */
function detect(): boolean {
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  return Boolean(process.stdout.isTTY) && process.env.TERM !== 'dumb';
}

const enabled = detect();

function style(open: number, close: number): (text: string) => string {
  return enabled ? (text) => `\x1b[${open}m${text}\x1b[${close}m` : (text) => text;
}

export const color = {
  /** 0 when colour is off, as chalk's `level`. */
  level: enabled ? 1 : 0,
  bold: style(1, 22),
  dim: style(2, 22),
  red: style(31, 39),
  green: style(32, 39),
  yellow: style(33, 39),
  cyan: style(36, 39),
};
