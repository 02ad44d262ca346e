import { describe, expect, it } from 'vitest';
import { NUM, parseNumberText } from './number.js';

describe('parseNumber', () => {
  it('reads integers, decimals and exponents', () => {
    expect(parseNumberText('42')).toEqual({ value: 42, kind: NUM.int });
    expect(parseNumberText('-7')).toEqual({ value: -7, kind: NUM.int });
    expect(parseNumberText('+3.25')).toEqual({ value: 3.25, kind: NUM.float });
    expect(parseNumberText('.5')).toEqual({ value: 0.5, kind: NUM.float });
    expect(parseNumberText('5.')).toEqual({ value: 5, kind: NUM.float });
    expect(parseNumberText('1e3')).toEqual({ value: 1000, kind: NUM.float });
    expect(parseNumberText('-2.5E-3')).toEqual({ value: -0.0025, kind: NUM.float });
    expect(parseNumberText('  12  ')).toEqual({ value: 12, kind: NUM.int });
    expect(parseNumberText('0.000000000000000000000000123').value).toBe(1.23e-25);
    expect(parseNumberText('123456789012345678901234567890').value).toBe(1.2345678901234568e29);
    expect(Object.is(parseNumberText('-0').value, -0)).toBe(true);
  });

  it('reads nan and infinity in any case', () => {
    for (const t of ['nan', 'NaN', 'NAN']) expect(parseNumberText(t).kind).toBe(NUM.float);
    expect(parseNumberText('inf').value).toBe(Infinity);
    expect(parseNumberText('-Inf').value).toBe(-Infinity);
    expect(parseNumberText('Infinity').value).toBe(Infinity);
    expect(parseNumberText('-infinity').value).toBe(-Infinity);
  });

  it('rejects what is not a number', () => {
    for (const t of ['', ' ', '.', '-', '1e', '1e+', '1.2.3', '--1', '1,5', 'abc', '0x10', '12a', 'nan1', 'in']) {
      expect(parseNumberText(t).kind, t).toBe(NUM.none);
    }
  });

  it('rounds exactly like Number() (fast path and long literals)', () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 20000; i++) {
      const x = (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
      for (const text of [String(x), x.toFixed(Math.floor(rand() * 10)), x.toExponential(Math.floor(rand() * 16)), x.toPrecision(17)]) {
        expect(parseNumberText(text).value, text).toBe(Number(text));
      }
    }
  });
});
