/**
 * Issue 13 item 8: option values are checked where they are parsed (exit 2, naming the flag and the
 * valid range), and the system errors a user can cause (a port in use, an address not on this machine,
 * an unknown host, a full disk) are one-line errors, never "this is a bug in mlo".
 */
import { createServer, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LINEAR } from '../model/fixtures.js';
import { makeRepo, mlo, mloWith, tempDir, writeTree, type MloResult } from '../helpers.js';

function explain(r: MloResult): string {
  return `exit ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** One `error:` line and one `hint:` line at most, no stack, no "bug". */
function expectOneLineError(r: MloResult, code: number, message: RegExp): void {
  expect(r.exitCode, explain(r)).toBe(code);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('warning:'));
  expect(lines[0], explain(r)).toMatch(message);
  expect(r.stderr).not.toMatch(/bug in mlo|\n\s+at /);
  expect(lines.length, explain(r)).toBeLessThanOrEqual(2);
}

describe('option values are checked where they are parsed', () => {
  it('refuses out-of-range numbers and unknown enum values with exit 2 and the valid range', async () => {
    const dir = await makeRepo();
    const cases: [string[], RegExp][] = [
      [['serve', 'm.onnx', '-p', '99999'], /--port must be a whole number from 0 to 65535 \(0 picks a free port\), got '99999'/],
      [['serve', 'm.onnx', '--port', '-1'], /--port must be a whole number from 0 to 65535/],
      [['serve', 'm.onnx', '--max-batch', '0'], /--max-batch must be a whole number of at least 1, got '0'/],
      [['serve', 'm.onnx', '--log-sample', '1.5'], /--log-sample must be a number from 0 to 1, got '1.5'/],
      [['run', '-j', '0'], /--jobs must be a whole number of at least 1, got '0'/],
      [['push', '--jobs', '2.5'], /--jobs must be a whole number of at least 1, got '2.5'/],
      [['exp', 'show', '--precision', '0'], /--precision must be a whole number from 1 to 17, got '0'/],
      [['exp', 'show', '--limit', '0'], /--limit must be a whole number of at least 1/],
      [['exp', 'show', '--sort-order', 'up'], /--sort-order must be one of asc, desc, got 'up'/],
      [['predict', 'm.onnx', '-i', 'a.csv', '-o', 'b.csv', '-b', '0'], /--batch-size must be a whole number of at least 1/],
      [['monitor', 'drift', '--reference', 'a.csv', '--current', 'b.csv', '--ks-p', '1'], /--ks-p must be a number strictly between 0 and 1, got '1'/],
      [['monitor', 'drift', '--reference', 'a.csv', '--current', 'b.csv', '--psi-bins', '1'], /--psi-bins must be a whole number of at least 2/],
      [['ci', 'report', '--fail-on', 'metrics,everything'], /--fail-on must be one of metrics, pipeline, drift, validation, any, got 'everything'/],
    ];
    for (const [args, message] of cases) {
      const r = await mlo(dir, ...args);
      expect(r.exitCode, `${args.join(' ')}\n${explain(r)}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });
});

describe('system errors a user can cause are one-line errors', () => {
  async function model(): Promise<string> {
    const dir = tempDir();
    writeTree(dir, { 'lin.onnx': LINEAR });
    return dir;
  }

  it('a port in use names the address', async () => {
    const dir = await model();
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((taken.address() as { port: number }).port);
      const r = await mloWith({ cwd: dir, timeout: 30_000 }, 'serve', 'lin.onnx', '--port', port);
      expectOneLineError(r, 1, new RegExp(`^error: port ${port} on 127.0.0.1 is already in use`));
      const j = await mloWith({ cwd: dir, timeout: 30_000 }, '--json', 'serve', 'lin.onnx', '--port', port);
      expect(JSON.parse(j.stdout).error.code).toBe('MLO_PORT_IN_USE');
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('an address that is not on this machine, and a host that does not resolve', async () => {
    const dir = await model();
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never assigned to a real interface.
    const r = await mloWith({ cwd: dir, timeout: 30_000 }, 'serve', 'lin.onnx', '--host', '192.0.2.1', '--port', '0', '--token', 't');
    expectOneLineError(r, 1, /^error: cannot listen on 192\.0\.2\.1(:\d+)?: it is not an address of this machine/);
    expect(r.stderr).toContain('hint: use --host 127.0.0.1');
    const j = await mloWith({ cwd: dir, timeout: 30_000 }, '--json', 'serve', 'lin.onnx', '--host', '192.0.2.1', '--port', '0', '--token', 't');
    expect(JSON.parse(j.stdout).error.code).toBe('MLO_ADDRESS_UNAVAILABLE');

    // .invalid never resolves (RFC 2606).
    const host = await mloWith({ cwd: dir, timeout: 30_000 }, 'serve', 'lin.onnx', '--host', 'no-such-host.invalid', '--port', '0', '--token', 't');
    expectOneLineError(host, 1, /^error: cannot resolve host 'no-such-host\.invalid'/);
  });

  it.skipIf(!existsSync('/dev/full'))('a full disk (/dev/full) is "no space left on device"', async () => {
    const dir = await makeRepo({ 'metrics.json': '{"acc": 1}\n' }, { commit: true });
    const r = await mlo(dir, 'ci', 'report', '-o', '/dev/full');
    expectOneLineError(r, 1, /^error: (\/dev\/full: )?no space left on device/);
    expect(r.stderr).toContain('hint: free some space');
  });
});
