// Shared helpers for the benchmark scripts: timing child processes and printing ratio tables.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const MLO = join(ROOT, 'bin', 'mlo.js');
export const QUICK = process.env.BENCH_QUICK === '1';

/** Runs a command, returns wall seconds; throws with its output when it fails. */
export function timeRun(cmd, args, options = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, ...options });
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return secs;
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median of `n` runs of `fn` (each returns seconds), after `setup` before each run if given. */
export function medianOf(n, fn, setup) {
  const xs = [];
  for (let i = 0; i < n; i++) {
    setup?.();
    xs.push(fn());
  }
  return median(xs);
}

export function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export function mlo(args, cwd) {
  return timeRun(process.execPath, [MLO, ...args], { cwd });
}

/** Prints rows of [what, mlo value, peer name, peer value, ratio text, target, verdict]. */
export function report(title, rows) {
  console.log(`\n## ${title}`);
  const header = ['measure', 'mlo', 'peer', 'peer value', 'ratio', 'target', 'met'];
  const all = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  for (const r of all) console.log(r.map((c, i) => (c ?? '').padEnd(widths[i])).join('  '));
}

export const fmt = {
  s: (x) => `${x.toFixed(3)} s`,
  gbs: (x) => `${x.toFixed(2)} GB/s`,
  x: (x) => `${x.toFixed(2)}x`,
};
