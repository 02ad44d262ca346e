// Colour is decided per stream (src/cli/color.ts): stdout's colour follows stdout, stderr's follows
// stderr, so `mlo ... 2>log` in a terminal keeps escape codes out of the log. NO_COLOR turns colour off,
// FORCE_COLOR on (and wins over NO_COLOR, as before chalk).
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GIT_ENV, MLO_BIN, makeRepo } from '../helpers.js';

const ESC = '\x1b[';
// A colour or style code (progress lines also write \x1b[K, which is not colour).
const SGR = /\x1b\[[0-9;]*m/;

/** The environment without the variables that decide colour, plus `env`. */
function colorEnv(env: Record<string, string> = {}): Record<string, string | undefined> {
  return { ...GIT_ENV, FORCE_COLOR: undefined, NO_COLOR: undefined, CI: undefined, TF_BUILD: undefined, TERM: 'xterm', ...env };
}

/** A repo whose `mlo status` prints a coloured `modified:` line to stdout. */
async function modifiedRepo(): Promise<string> {
  const dir = await makeRepo({ 'data/a.txt': 'a\n' });
  const r = await execa(process.execPath, [MLO_BIN, 'add', 'data'], { cwd: dir, env: colorEnv(), reject: false });
  expect(r.exitCode, r.stderr).toBe(0);
  writeFileSync(join(dir, 'data/a.txt'), 'changed\n');
  return dir;
}

function mloPiped(cwd: string, env: Record<string, string>, ...args: string[]) {
  return execa(process.execPath, [MLO_BIN, ...args], { cwd, env: colorEnv(env), reject: false });
}

describe('colour with pipes', () => {
  it('writes no escape codes to piped stdout and stderr unless FORCE_COLOR is set', async () => {
    const dir = await modifiedRepo();
    const status = await mloPiped(dir, {}, 'status');
    expect(status.stdout).toContain('modified:');
    expect(status.stdout).not.toMatch(SGR);
    const error = await mloPiped(dir, {}, 'add', 'nope.csv');
    expect(error.stderr).toMatch(/^error: .*nope\.csv/);
    expect(error.stderr).not.toMatch(SGR);

    const forced = await mloPiped(dir, { FORCE_COLOR: '1' }, 'status');
    expect(forced.stdout).toContain(`${ESC}33mmodified:${ESC}39m`);
    expect((await mloPiped(dir, { FORCE_COLOR: '1' }, 'add', 'nope.csv')).stderr).toContain(`${ESC}31merror:${ESC}39m`);
    expect((await mloPiped(dir, { FORCE_COLOR: '1', NO_COLOR: '1' }, 'status')).stdout).toMatch(SGR);
    expect((await mloPiped(dir, { FORCE_COLOR: '0' }, 'status')).stdout).not.toMatch(SGR);
  });
});

// util-linux `script` runs a command under a pseudo-terminal (stdout and stderr a TTY unless redirected).
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

describe.skipIf(!hasScript)('colour in a terminal', () => {
  const inTerminal = (cwd: string, env: Record<string, string>, shell: string) =>
    execa('script', ['-qec', shell, '/dev/null'], { cwd, env: colorEnv({ MLO: MLO_BIN, NODE: process.execPath, ...env }), stdin: 'ignore', reject: false });

  it('colours stdout in a terminal but not stderr redirected to a file, and the reverse', async () => {
    const dir = await modifiedRepo();
    const r = await inTerminal(dir, {}, '"$NODE" "$MLO" status; "$NODE" "$MLO" add nope.csv 2>err.txt');
    expect(r.stdout).toContain(`${ESC}33mmodified:${ESC}39m`);
    const log = readFileSync(join(dir, 'err.txt'), 'utf8');
    expect(log).toMatch(/^error: .*nope\.csv/);
    expect(log).not.toMatch(SGR);

    const reverse = await inTerminal(dir, {}, '"$NODE" "$MLO" status >out.txt; "$NODE" "$MLO" add nope.csv');
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).not.toMatch(SGR);
    expect(reverse.stdout).toContain(`${ESC}31merror:${ESC}39m`);
  });

  it('turns colour off with NO_COLOR', async () => {
    const dir = await modifiedRepo();
    const r = await inTerminal(dir, { NO_COLOR: '1' }, '"$NODE" "$MLO" status; "$NODE" "$MLO" add nope.csv');
    expect(r.stdout).toContain('modified:');
    expect(r.stdout).toContain('error:');
    expect(r.stdout).not.toMatch(SGR);
  });
});
