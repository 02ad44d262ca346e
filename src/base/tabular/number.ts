/**
 * Number parsing straight from bytes: the CSV reader's hot path (30 million cells in the drift
 * benchmark), so it allocates nothing for the common case. Decimal literals with at most 15 significant
 * digits and a decimal exponent within ±22 are converted exactly (Clinger's fast path: both the integer
 * mantissa and the power of ten are exact doubles, so one multiplication or division rounds correctly).
 * Longer literals fall back to Number() on a latin1 slice, which is also correctly rounded.
 */

/** What the last `parseNumber` call saw: not a number, an integer literal, or any other number. */
export const NUM = { none: 0, int: 1, float: 2 } as const;
export type NumKind = (typeof NUM)[keyof typeof NUM];

// One module-level out-parameter instead of returning an object per cell: the caller reads it right
// after the call (single-threaded, no re-entrancy).
export let numKind: NumKind = NUM.none;

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

const SPACE = 0x20;
const TAB = 0x09;

function lower(c: number): number {
  return c | 0x20;
}

/**
 * Parses bytes [start, end) of `buf` as a number (spaces and tabs around it are ignored). Returns the
 * value and sets `numKind`; returns NaN with `numKind = NUM.none` when the bytes are not a number.
 * Accepts `[+-]digits[.digits][e[+-]digits]`, `.5`, `5.`, and nan / inf / infinity in any case.
 */
export function parseNumber(buf: Buffer, start: number, end: number): number {
  // Fast path for what machines write most: [-]digits[.digits], at most 15 digits, nothing else.
  // m < 10^15 and 10^f are exact doubles, so m / 10^f is correctly rounded.
  let p = start;
  const negative = buf[p] === 0x2d;
  if (negative) p++;
  let m = 0;
  let nd = 0;
  let dot = -1;
  for (; p < end; p++) {
    const c = buf[p];
    const d = c - 0x30;
    if (d >= 0 && d <= 9) {
      m = m * 10 + d;
      nd++;
    } else if (c === 0x2e && dot < 0) dot = p;
    else break;
  }
  if (p === end && nd > 0 && nd <= 15) {
    numKind = dot < 0 ? NUM.int : NUM.float;
    const f = dot < 0 ? 0 : end - dot - 1;
    const v = f === 0 ? m : m / POW10[f];
    return negative ? -v : v;
  }
  return parseGeneral(buf, start, end);
}

function parseGeneral(buf: Buffer, start: number, end: number): number {
  while (start < end && (buf[start] === SPACE || buf[start] === TAB)) start++;
  while (end > start && (buf[end - 1] === SPACE || buf[end - 1] === TAB)) end--;
  numKind = NUM.none;
  if (start >= end) return NaN;
  let p = start;
  let negative = false;
  let c = buf[p];
  if (c === 0x2d || c === 0x2b) {
    negative = c === 0x2d;
    p++;
    if (p >= end) return NaN;
    c = buf[p];
  }
  if (c > 0x39 || c < 0x2e || c === 0x2f) return parseSpecial(buf, p, end, negative);

  let mantissa = 0;
  let digits = 0; // significant digits in mantissa (leading zeros excluded)
  let dropped = 0; // significant digits beyond what the mantissa holds exactly
  let sawDigit = false;
  let fracDigits = 0;
  let isFloat = false;
  while (p < end) {
    c = buf[p] - 0x30;
    if (c < 0 || c > 9) break;
    sawDigit = true;
    if (digits < 19) {
      mantissa = mantissa * 10 + c;
      if (mantissa !== 0) digits++;
    } else dropped++;
    p++;
  }
  if (p < end && buf[p] === 0x2e) {
    isFloat = true;
    p++;
    while (p < end) {
      c = buf[p] - 0x30;
      if (c < 0 || c > 9) break;
      sawDigit = true;
      if (digits < 19) {
        mantissa = mantissa * 10 + c;
        if (mantissa !== 0) digits++;
        fracDigits++;
      }
      p++;
    }
  }
  if (!sawDigit) return NaN;
  let exponent = 0;
  if (p < end && (buf[p] === 0x65 || buf[p] === 0x45)) {
    isFloat = true;
    p++;
    let expNegative = false;
    if (p < end && (buf[p] === 0x2d || buf[p] === 0x2b)) {
      expNegative = buf[p] === 0x2d;
      p++;
    }
    if (p >= end) return NaN;
    while (p < end) {
      c = buf[p] - 0x30;
      if (c < 0 || c > 9) return NaN;
      if (exponent < 100000) exponent = exponent * 10 + c;
      p++;
    }
    if (expNegative) exponent = -exponent;
  }
  if (p !== end) return NaN;
  numKind = isFloat ? NUM.float : NUM.int;
  if (mantissa === 0) return negative ? -0 : 0;
  const e10 = exponent - fracDigits + dropped;
  if (digits <= 15 && dropped === 0 && e10 >= -22 && e10 <= 22) {
    const v = e10 >= 0 ? mantissa * POW10[e10] : mantissa / POW10[-e10];
    return negative ? -v : v;
  }
  // Slow path, correctly rounded by the engine (17-digit round-trip output lands here).
  return Number(latin1(buf, start, end));
}

function parseSpecial(buf: Buffer, p: number, end: number, negative: boolean): number {
  const n = end - p;
  if (n === 3) {
    const a = lower(buf[p]);
    const b = lower(buf[p + 1]);
    const c = lower(buf[p + 2]);
    if (a === 0x6e && b === 0x61 && c === 0x6e) {
      numKind = NUM.float;
      return NaN;
    }
    if (a === 0x69 && b === 0x6e && c === 0x66) {
      numKind = NUM.float;
      return negative ? -Infinity : Infinity;
    }
  } else if (n === 8 && latin1(buf, p, end).toLowerCase() === 'infinity') {
    numKind = NUM.float;
    return negative ? -Infinity : Infinity;
  }
  return NaN;
}

// Node's Buffer has latin1Slice (no encoding lookup, unlike toString); @types/node does not declare it.
type FastSlices = { latin1Slice(start: number, end: number): string; utf8Slice(start: number, end: number): string };

export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as FastSlices).latin1Slice(start, end);
}

export function utf8(buf: Buffer, start: number, end: number): string {
  return (buf as unknown as FastSlices).utf8Slice(start, end);
}

/** Parses a whole string with the same rules as `parseNumber` (used for JSON strings and flags). */
export function parseNumberText(text: string): { value: number; kind: NumKind } {
  const bytes = Buffer.from(text, 'latin1');
  const value = parseNumber(bytes, 0, bytes.length);
  return { value, kind: numKind };
}
