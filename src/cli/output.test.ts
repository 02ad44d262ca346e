import { describe, expect, it } from 'vitest';
import { displayWidth, pad, table } from './output.js';

describe('display width', () => {
  it('counts terminal columns: two for CJK characters and emoji, none for colour codes', () => {
    expect(displayWidth('baseline')).toBe(8);
    expect(displayWidth('学习率')).toBe(6);
    expect(displayWidth('run-🚀')).toBe(6);
    expect(displayWidth('\x1b[32mok\x1b[39m')).toBe(2);
    expect(displayWidth('0.91 ★')).toBe(6);
  });

  it('pads to a width in columns', () => {
    expect(pad('学习率', 8)).toBe('学习率  ');
    expect(pad('abc', 5)).toBe('abc  ');
    expect(pad('toolong', 3)).toBe('toolong');
  });
});

describe('table', () => {
  it('aligns columns after a CJK or emoji run name', () => {
    // The header is bold only when stdout is a terminal; compare without colour codes.
    const lines = table(
      ['Name', 'Loss'],
      [
        ['学习率-实验', '0.1'],
        ['baseline', '0.2'],
        ['🚀', '0.3'],
      ],
    ).map((l) => l.replace(/\x1b\[[0-9;]*m/g, ''));
    expect(lines).toEqual(['Name         Loss', '学习率-实验  0.1', 'baseline     0.2', '🚀           0.3']);
    const lossColumn = lines.map((l) => displayWidth(l.slice(0, l.lastIndexOf(' ') + 1)));
    expect(new Set(lossColumn).size).toBe(1);
  });
});
