import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, MloError, usageError } from './errors.js';

/** The rows of docs/errors.md's table: code and exit code. */
function documentedCodes(): Record<string, number> {
  const text = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows: Record<string, number> = {};
  for (const m of text.matchAll(/^\| `(MLO_[A-Z0-9_]+)` \| (\d+) \|/gm)) rows[m[1]] = Number(m[2]);
  return rows;
}

describe('error codes', () => {
  it('docs/errors.md lists every code with its exit code, and no other', () => {
    const inCode = Object.fromEntries(Object.entries(ERROR_CODES).map(([code, { exit }]) => [code, exit]));
    expect(documentedCodes()).toEqual(inCode);
  });

  it('an error takes its exit code from the table unless told otherwise', () => {
    expect(new MloError('MLO_NOT_FOUND', 'x').exitCode).toBe(1);
    expect(new MloError('MLO_INTERRUPTED', 'x').exitCode).toBe(130);
    expect(usageError('x').exitCode).toBe(2);
    expect(new MloError('MLO_SECRET_IN_SHARED_CONFIG', 'x', { exitCode: 2 }).exitCode).toBe(2);
  });
});
