import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellPath, shellQuote } from './shell.js';

describe('shellQuote', () => {
  it('leaves plain paths alone and single-quotes anything a shell would split or expand', () => {
    expect(shellQuote('data/a-1_b.csv.mlo')).toBe('data/a-1_b.csv.mlo');
    expect(shellQuote('my data.csv')).toBe(`'my data.csv'`);
    expect(shellQuote(`it's`)).toBe(`'it'\\''s'`);
    expect(shellQuote('--lr=0.1')).toBe('--lr=0.1');
    for (const s of ['a*b', 'a?b', '[x]', '$HOME', '`x`', 'a;b', 'a|b', '~x', '=x', 'a"b', 'a\\b', '{a,b}', 'é', 'a=~/x', '']) {
      expect(shellQuote(s)).toBe(`'${s}'`);
    }
  });

  it('round-trips through a real shell', () => {
    for (const s of [`it's "here"`, 'a=~/x', 'a b  c', '$HOME*?[x]', 'back\\slash', 'tab\there', "'", '']) {
      expect(execFileSync('sh', ['-c', `printf %s ${shellQuote(s)}`], { encoding: 'utf8' })).toBe(s);
    }
  });
});

describe('shellPath', () => {
  it('is relative to the folder mlo was run in', () => {
    expect(shellPath('/r', '/r', 'sub/s.txt.mlo')).toBe('sub/s.txt.mlo');
    expect(shellPath('/r', '/r/sub', 'sub/s.txt.mlo')).toBe('s.txt.mlo');
    expect(shellPath('/r', '/r/sub', 'other/x y')).toBe(`'../other/x y'`);
    expect(shellPath('/r', '/r/sub', 'sub')).toBe('.');
    expect(shellPath('/r', '/r', '-n.mlo')).toBe('./-n.mlo');
  });
});
