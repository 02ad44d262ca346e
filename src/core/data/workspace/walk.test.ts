import ignore from 'ignore';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadIgnore } from './walk.js';

const paths = [
  'a.pyc',
  'src/x.pyc',
  '__pycache__/',
  'deep/__pycache__/',
  'keep.txt',
  'logs/',
  'logs/a.log',
  'a.log',
  'data.csv',
  'x.DS_Store',
  '.DS_Store',
  'b[1].txt',
  'b1.txt',
];

function check(rules: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'mlo-ignore-'));
  try {
    writeFileSync(join(dir, '.mloignore'), rules);
    const fast = loadIgnore(dir);
    const reference = ignore().add(rules);
    for (const p of paths) expect([p, fast.ignores(p)]).toEqual([p, reference.ignores(p)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('loadIgnore', () => {
  it('matches the gitignore reference for basename rules (the fast path)', () => {
    check('# comment\n.DS_Store\n__pycache__/\n*.pyc\n*.log\nb?.txt\n');
  });
  it('matches the reference for rules with slashes and negation (the general path)', () => {
    check('logs/\n*.log\n!a.log\nsrc/*.pyc\n');
  });
});
