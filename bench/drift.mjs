#!/usr/bin/env node
// Drift benchmark: `mlo monitor drift` (KS + PSI on every column) against scipy.stats.ks_2samp run
// column by column, both including reading the CSV files. Python reads with pandas.read_csv when pandas
// is installed, else numpy.loadtxt (the script says which).
//
//   node bench/drift.mjs                 1,000,000 rows x 30 numeric columns per file
//   BENCH_QUICK=1 node bench/drift.mjs   20,000 rows x 5 columns (smoke run)
//   BENCH_ROWS=200000 BENCH_COLS=10 node bench/drift.mjs
//
// Needs a built mlo (npm run build) and python3 with numpy and scipy. Data is generated once under
// os.tmpdir() and reused by later runs with the same size.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, report } from './lib.mjs';

const quick = process.env.BENCH_QUICK === '1';
const rows = Number(process.env.BENCH_ROWS ?? (quick ? 20_000 : 1_000_000));
const cols = Number(process.env.BENCH_COLS ?? (quick ? 5 : 30));
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const mloBin = join(root, 'bin', 'mlo.js');
const dir = join(tmpdir(), `mlo-bench-drift-${rows}x${cols}`);
mkdirSync(dir, { recursive: true });
const refFile = join(dir, 'reference.csv');
const curFile = join(dir, 'current.csv');

/** Deterministic normal variates (mulberry32 + Box-Muller). */
function gaussian(seed) {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

async function writeCsv(file, seed, shift) {
  if (existsSync(file)) return false;
  const next = gaussian(seed);
  const tmp = `${file}.tmp`;
  const out = createWriteStream(tmp);
  const header = Array.from({ length: cols }, (_, c) => `f${c}`).join(',');
  out.write(`${header}\n`);
  let chunk = [];
  for (let r = 0; r < rows; r++) {
    const cells = new Array(cols);
    // Every third column drifts in the current file, so both tools do real work on p-values.
    for (let c = 0; c < cols; c++) cells[c] = (next() * (1 + c / 10) + c + (c % 3 === 0 ? shift : 0)).toFixed(5);
    chunk.push(cells.join(','));
    if (chunk.length === 10_000) {
      if (!out.write(`${chunk.join('\n')}\n`)) await new Promise((ok) => out.once('drain', ok));
      chunk = [];
    }
  }
  if (chunk.length) out.write(`${chunk.join('\n')}\n`);
  await new Promise((ok, fail) => out.end((err) => (err ? fail(err) : ok())));
  renameSync(tmp, file);
  return true;
}

// GNU time reports the peak resident memory of the child; optional.
const gnuTime = existsSync('/usr/bin/time') && spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0;

function run(cmd, args) {
  const [bin, argv] = gnuTime ? ['/usr/bin/time', ['-f', 'maxrss=%M', cmd, ...args]] : [cmd, args];
  const started = process.hrtime.bigint();
  const r = spawnSync(bin, argv, { encoding: 'utf8', maxBuffer: 256 << 20 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.error) throw r.error;
  const rss = /maxrss=(\d+)\s*$/.exec(r.stderr);
  return { seconds, status: r.status, stdout: r.stdout, stderr: r.stderr, rssMb: rss ? Number(rss[1]) / 1024 : undefined };
}

const mem = (r) => (r.rssMb === undefined ? '' : `, peak RSS ${r.rssMb.toFixed(0)} MB`);

const PY = `
import json, sys, time
import numpy as np
from scipy import stats
ref_path, cur_path = sys.argv[1], sys.argv[2]
try:
    import pandas as pd
    reader = 'pandas.read_csv'
    load = lambda p: pd.read_csv(p).to_numpy(dtype=float)
except ImportError:
    reader = 'numpy.loadtxt'
    load = lambda p: np.loadtxt(p, delimiter=',', skiprows=1)
t0 = time.perf_counter()
ref = load(ref_path); cur = load(cur_path)
t1 = time.perf_counter()
out = []
for c in range(ref.shape[1]):
    r = stats.ks_2samp(ref[:, c], cur[:, c], method='auto')
    out.append([float(r.statistic), float(r.pvalue)])
t2 = time.perf_counter()
print(json.dumps({'reader': reader, 'read': t1 - t0, 'ks': t2 - t1, 'results': out}))
`;

async function main() {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('build mlo first: npm run build');
  const python = ['python3', 'python'].find((p) => spawnSync(p, ['-c', 'import numpy, scipy']).status === 0);
  if (!python) throw new Error('python3 with numpy and scipy is needed for the comparison');

  const t0 = Date.now();
  const made = [await writeCsv(refFile, 1, 0), await writeCsv(curFile, 2, 0.01)];
  console.log(
    `data: ${rows.toLocaleString('en')} rows x ${cols} numeric columns per file in ${dir}` +
      (made.some(Boolean) ? ` (generated in ${((Date.now() - t0) / 1000).toFixed(1)} s)` : ' (reused)'),
  );

  // BENCH_RUNS=3 takes the median of three runs of each side (default one: a full run takes a while).
  const runs = Number(process.env.BENCH_RUNS ?? 1);
  const mloRuns = [];
  const pyRuns = [];
  for (let i = 0; i < runs; i++) {
    const m = run(process.execPath, [mloBin, 'monitor', 'drift', '--reference', refFile, '--current', curFile, '--tests', 'ks,psi', '--json']);
    if (m.status !== 0 && m.status !== 1) throw new Error(`mlo failed (${m.status}): ${m.stderr}`);
    mloRuns.push(m);
    const p = run(python, ['-c', PY, refFile, curFile]);
    if (p.status !== 0) throw new Error(`python failed: ${p.stderr}`);
    pyRuns.push(p);
  }
  const mid = (xs) => [...xs].sort((x, y) => x.seconds - y.seconds)[Math.floor(xs.length / 2)];
  const m = mid(mloRuns);
  const p = mid(pyRuns);
  const mlo = JSON.parse(m.stdout);
  const sp = JSON.parse(p.stdout);

  let maxStat = 0;
  let maxP = 0;
  mlo.features.forEach((f, c) => {
    maxStat = Math.max(maxStat, Math.abs(f.ks.statistic - sp.results[c][0]));
    maxP = Math.max(maxP, Math.abs(f.ks.pvalue - sp.results[c][1]));
  });

  const peer = `scipy ks_2samp x${cols} + ${sp.reader}`;
  report(`drift: ${rows.toLocaleString('en')} rows x ${cols} numeric columns, two CSV files (${runs} run${runs > 1 ? 's, median' : ''})`, [
    ['whole process', fmt.s(m.seconds), peer, fmt.s(p.seconds), fmt.x(p.seconds / m.seconds), '>= 1x', p.seconds >= m.seconds ? 'yes' : 'NO'],
    // Informational: scipy's in-process time leaves out Python start-up and the numpy/scipy imports.
    ['vs scipy without start-up', fmt.s(m.seconds), 'read + KS only', fmt.s(sp.read + sp.ks), fmt.x((sp.read + sp.ks) / m.seconds), '-', '-'],
  ]);
  console.log(`mlo: read, sort, KS and PSI on every column${mem(m)}. scipy: read ${sp.read.toFixed(2)} s, KS ${sp.ks.toFixed(2)} s${mem(p)}.`);
  console.log(
    `agreement with scipy over ${cols} columns: max |ΔD| = ${maxStat.toExponential(1)}, max |Δp| = ${maxP.toExponential(1)}; drifted columns: ${mlo.drifted}/${mlo.compared}`,
  );
}

main().catch((err) => {
  console.error(`bench/drift.mjs: ${err.message}`);
  process.exitCode = 1;
});
