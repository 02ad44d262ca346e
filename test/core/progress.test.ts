/**
 * Issue 13 item 8: `mlo add` of a large file shows its total size from the start, not `0 B` until the
 * file is done. Run under a pseudo-terminal (`script`), where the progress bar is drawn on stderr.
 */
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GIT_ENV, MLO_BIN, makeRepo } from '../helpers.js';

const hasScript =
  process.platform === 'linux' &&
  (() => {
    try {
      execFileSync('script', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

describe.skipIf(!hasScript)('progress of a large file', () => {
  it('shows the total before the file is done', async () => {
    const dir = await makeRepo();
    // 40 MiB: above the 8 MiB large-file threshold, read in five chunks.
    writeFileSync(join(dir, 'big.bin'), Buffer.alloc(40 << 20, 7));
    const r = await execa('script', ['-qec', '"$NODE" "$MLO" add big.bin', '/dev/null'], {
      cwd: dir,
      env: { ...GIT_ENV, MLO: MLO_BIN, NODE: process.execPath, TERM: 'xterm', NO_COLOR: '1' },
      stdin: 'ignore',
      reject: false,
    });
    expect(r.exitCode, r.stdout).toBe(0);
    // Each redraw starts with \r\x1b[K; a line that does not end the bar (no newline) was drawn while
    // the file was still being read.
    const draws = r.stdout.split('\r\x1b[K').filter((d) => d.startsWith('adding'));
    const during = draws.filter((d) => !d.includes('\n'));
    expect(during.length, JSON.stringify(draws)).toBeGreaterThan(0);
    expect(during[0], JSON.stringify(draws)).toMatch(/^adding +0\/1 files +\d+(\.\d)? MiB\/40\.0 MiB/);
    expect(draws.some((d) => d.includes('0 B/') || /^adding +0 B\b/.test(d))).toBe(false);
  });
});
