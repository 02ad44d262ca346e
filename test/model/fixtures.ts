/**
 * Shared pieces of the model end-to-end tests: tiny real ONNX models built in TypeScript, and a runner
 * for `mlo serve` that waits for its --json start-up document and stops it with a signal.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildLinear, buildMlp } from '../support/onnx-builder.js';
import { GIT_ENV, MLO_BIN, ROOT } from '../helpers.js';

/** y = [x0 + x2 + 0.5, x1 + x2 - 0.5]: easy to check by hand. */
export const LINEAR = Buffer.from(
  buildLinear({ inFeatures: 3, outFeatures: 2, weights: Float32Array.from([1, 0, 0, 1, 1, 1]), bias: Float32Array.from([0.5, -0.5]) }),
);
export const expectLinear = (x: number[]) => [x[0] + x[2] + 0.5, x[1] + x[2] - 0.5];

/** The same features, different answers: y = [2*x0, 2*x1]. */
export const LINEAR_V2 = Buffer.from(
  buildLinear({ inFeatures: 3, outFeatures: 2, weights: Float32Array.from([2, 0, 0, 2, 0, 0]), bias: Float32Array.from([0, 0]) }),
);

export const MLP = Buffer.from(buildMlp({ inFeatures: 3, hidden: 16, outFeatures: 2 }));
export const FIXED = Buffer.from(buildLinear({ inFeatures: 3, outFeatures: 2, batch: 1 }));

export interface Served {
  url: string;
  port: number;
  info: any;
  proc: ChildProcessWithoutNullStreams;
  stderr(): string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function serve(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Served> {
  const proc = spawn(process.execPath, [MLO_BIN, 'serve', '--json', '--port', '0', ...args], {
    cwd,
    env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', ...env },
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const info = await new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mlo serve did not start:\n${out}\n${err}`)), 30_000);
    proc.stdout.on('data', (c) => {
      out += c;
      try {
        const doc = JSON.parse(out);
        clearTimeout(timer);
        if (doc.error) reject(new Error(`mlo serve failed: ${doc.error.message}`));
        else resolve(doc);
      } catch {
        // not complete yet
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mlo serve exited with ${code}:\n${out}\n${err}`));
    });
  });
  let stopped = false;
  const served: Served = {
    url: info.url,
    port: info.port,
    info,
    proc,
    stderr: () => err,
    stop(signal = 'SIGTERM') {
      if (!stopped) {
        stopped = true;
        proc.kill(signal);
      }
      return exited;
    },
  };
  return served;
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Python with torch and onnx: MLO_PYTHON, else the venv that .ci/run builds in the checkout (.venv). */
export async function torchPython(): Promise<string | undefined> {
  const { execa } = await import('execa');
  for (const py of [process.env.MLO_PYTHON, join(ROOT, '.venv', 'bin', 'python')].filter((p): p is string => Boolean(p))) {
    if (py.includes('/') && !existsSync(py)) continue;
    const r = await execa(py, ['-c', 'import torch, onnx'], { reject: false });
    if (r.exitCode === 0) return py;
  }
  return undefined;
}
