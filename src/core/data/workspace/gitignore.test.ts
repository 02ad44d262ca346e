import { describe, expect, it } from 'vitest';
import { MloError } from '../../../base/errors.js';
import { gitignoreEntry, literalOfEntry } from './gitignore.js';

describe('gitignoreEntry', () => {
  it('escapes what gitignore treats specially, so the entry matches exactly one name', () => {
    expect(gitignoreEntry('data.csv')).toBe('/data.csv');
    expect(gitignoreEntry('a[1].txt')).toBe('/a\\[1\\].txt');
    expect(gitignoreEntry('st*r?')).toBe('/st\\*r\\?');
    expect(gitignoreEntry('b\\x')).toBe('/b\\\\x');
    expect(gitignoreEntry('trail  ')).toBe('/trail\\ \\ ');
    expect(gitignoreEntry(' lead')).toBe('/ lead');
    // Not at the start of the line (after the `/`), so neither negation nor comment.
    expect(gitignoreEntry('!bang')).toBe('/!bang');
    expect(gitignoreEntry('#hash')).toBe('/#hash');
  });

  it('refuses a name with a line break', () => {
    expect(() => gitignoreEntry('new\nline')).toThrow(MloError);
    expect(() => gitignoreEntry('cr\r')).toThrow(/line break/);
  });
});

describe('literalOfEntry', () => {
  it('reads an anchored literal as git does, and inverts gitignoreEntry', () => {
    for (const name of ['data.csv', 'a[1].txt', 'st*r?', 'b\\x', 'trail  ', ' lead', '!bang', '#hash', 'x]']) {
      expect(literalOfEntry(gitignoreEntry(name))).toBe(name);
    }
    expect(literalOfEntry('/data.csv  ')).toBe('data.csv'); // unescaped trailing spaces are dropped
    expect(literalOfEntry('/trail ')).toBe('trail');
  });

  it('is undefined for anything but one literal name', () => {
    for (const line of ['data.csv', '/a[1].txt', '/*.csv', '/q?', '/raw/', '/a/b', '#/x', '!/x', '/', '/x\\', '']) {
      expect(literalOfEntry(line)).toBeUndefined();
    }
  });
});
