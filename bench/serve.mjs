#!/usr/bin/env node
/**
 * Serving and batch-prediction speed, in one run, figures side by side:
 *
 *   1. HTTP, batch size 1 (one row per request), same model, same loopback load (wrk, else autocannon):
 *        mlo serve  vs  FastAPI + uvicorn + onnxruntime (bench/peers/fastapi_server.py), both with
 *        uvicorn's plain defaults (asyncio + h11) and with uvloop + httptools.
 *   2. In-process ceiling: await session.run() in a loop, one row per call (onnxruntime-node).
 *   3. mlo predict on a CSV  vs  an in-process script doing the same (read, parse, batched run, write).
 *
 * The model is a small tabular MLP (16 -> 64 -> 64 -> 2, softmax) exported from PyTorch when Python with
 * torch is available (MLO_PYTHON or the checkout's .venv, as .ci/run builds it), else the same shape built by mlo's test ONNX writer (test/support/onnx-builder.ts).
 *
 *   node bench/serve.mjs            (after npm run build)
 *   BENCH_QUICK=1 node bench/serve.mjs   short smoke run
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MLO = join(ROOT, 'bin', 'mlo.js');
const QUICK = process.env.BENCH_QUICK === '1';
const DURATION = QUICK ? 2 : 10;
const CONCURRENCY = QUICK ? [32] : [1, 32];
const PREDICT_ROWS = QUICK ? 20_000 : 200_000;
const FEATURES = 16;

const work = mkdtempSync(join(tmpdir(), 'mlo-bench-serve-'));
const children = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function findPython(modules) {
  for (const py of [process.env.MLO_PYTHON, join(ROOT, '.venv', 'bin', 'python'), 'python3'].filter(Boolean)) {
    if (py.includes('/') && !existsSync(py)) continue;
    const r = spawnSync(py, ['-c', modules.map((m) => `import ${m}`).join(';')], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return undefined;
}

// ---- the model ---------------------------------------------------------------------------------
const modelFile = join(work, 'mlp.onnx');
const torchPy = findPython(['torch', 'onnx', 'onnxscript']);
let modelSource;
if (torchPy) {
  const r = spawnSync(torchPy, [join(ROOT, 'bench/peers/export_torch_mlp.py'), modelFile, '--features', String(FEATURES), '--hidden', '64', '--classes', '2'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`PyTorch export failed:\n${r.stderr}`);
  modelSource = 'exported from PyTorch (torch.onnx.export, dynamo)';
} else {
  // The ONNX writer is test code (test/support/, TypeScript): esbuild makes it one plain module here.
  const { build } = await import('esbuild');
  const builderFile = join(work, 'onnx-builder.mjs');
  await build({
    entryPoints: [join(ROOT, 'test/support/onnx-builder.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: builderFile,
    logLevel: 'error',
  });
  const { buildOnnx, seededFloats } = await import(pathToFileURL(builderFile).href);
  const layer = (n, i, o, s) => [
    { name: `W${n}`, dims: [i, o], data: seededFloats(i * o, s) },
    { name: `b${n}`, dims: [o], data: seededFloats(o, s + 1) },
  ];
  const bytes = buildOnnx({
    inputs: [{ name: 'features', type: 'float32', shape: ['batch', FEATURES] }],
    outputs: [{ name: 'probabilities', type: 'float32', shape: ['batch', 2] }],
    nodes: [
      { op: 'MatMul', inputs: ['features', 'W1'], outputs: ['a1'] },
      { op: 'Add', inputs: ['a1', 'b1'], outputs: ['a2'] },
      { op: 'Relu', inputs: ['a2'], outputs: ['h1'] },
      { op: 'MatMul', inputs: ['h1', 'W2'], outputs: ['a3'] },
      { op: 'Add', inputs: ['a3', 'b2'], outputs: ['a4'] },
      { op: 'Relu', inputs: ['a4'], outputs: ['h2'] },
      { op: 'MatMul', inputs: ['h2', 'W3'], outputs: ['a5'] },
      { op: 'Add', inputs: ['a5', 'b3'], outputs: ['a6'] },
      { op: 'Softmax', inputs: ['a6'], outputs: ['probabilities'], attrs: { axis: 1 } },
    ],
    initializers: [...layer(1, FEATURES, 64, 1), ...layer(2, 64, 64, 3), ...layer(3, 64, 2, 5)],
  });
  writeFileSync(modelFile, bytes);
  modelSource = "built by mlo's TypeScript ONNX writer (no Python with torch found)";
}

const row = Array.from({ length: FEATURES }, (_, i) => Number((((i * 7) % 10) / 10 - 0.5).toFixed(2)));
const body = JSON.stringify({ inputs: [row] });

// ---- servers -----------------------------------------------------------------------------------
async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer(cmd, args, url) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (r.ok) {
        await r.text();
        return child;
      }
    } catch {
      // not up yet
    }
    if (child.exitCode !== null) throw new Error(`${cmd} ${args.join(' ')} exited:\n${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server did not start: ${cmd} ${args.join(' ')}\n${err}`);
}

async function stop(child) {
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
}

// ---- load --------------------------------------------------------------------------------------
const hasWrk = spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
const lua = join(work, 'post.lua');
writeFileSync(lua, `wrk.method = "POST"\nwrk.body = '${body}'\nwrk.headers["Content-Type"] = "application/json"\n`);

function ms(text) {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

async function load(url, connections) {
  if (hasWrk) {
    // Warm up, then measure.
    spawnSync('wrk', ['-t1', `-c${connections}`, '-d1s', '-s', lua, url], { encoding: 'utf8' });
    const r = spawnSync('wrk', ['-t1', `-c${connections}`, `-d${DURATION}s`, '--latency', '-s', lua, url], { encoding: 'utf8' });
    const out = r.stdout;
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
    return {
      rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
      p50: ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ''),
      p99: ms(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ''),
      errors: non2xx ? Number(non2xx[1]) : 0,
    };
  }
  const autocannon = (await import('autocannon')).default;
  const opts = { url, connections, method: 'POST', headers: { 'content-type': 'application/json' }, body };
  await autocannon({ ...opts, duration: 1 });
  const r = await autocannon({ ...opts, duration: DURATION });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors };
}

// ---- in-process --------------------------------------------------------------------------------
const ort = await import('onnxruntime-node');
const ortPath = (await import('node:module')).createRequire(import.meta.url).resolve('onnxruntime-node');

async function inProcessLoop() {
  const session = await ort.InferenceSession.create(modelFile, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const data = Float32Array.from(row);
  const name = session.inputNames[0];
  const run = async (seconds) => {
    let n = 0;
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) await session.run({ [name]: new ort.Tensor('float32', data, [1, FEATURES]) });
      n += 100;
    }
    return n / seconds;
  };
  await run(0.5);
  const rate = await run(QUICK ? 2 : 5);
  await session.release();
  return rate;
}

/**
 * What a hand-written script does, as its own process like mlo predict: read the file, parse it, run
 * batches of 1024, write a CSV. Prints its internal timings as JSON.
 */
const PEER_PREDICT = `
const t0 = performance.now();
const { readFileSync, writeFileSync } = await import('node:fs');
const ort = await import(process.argv[4]);
const [csv, out] = process.argv.slice(2);
const FEATURES = ${FEATURES};
const started = performance.now();
const session = await ort.InferenceSession.create(process.argv[5], { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
const name = session.inputNames[0];
const lines = readFileSync(csv, 'utf8').split('\\n');
const rows = lines.length - 2;
const x = new Float32Array(rows * FEATURES);
for (let i = 0; i < rows; i++) {
  const cells = lines[i + 1].split(',');
  for (let j = 0; j < FEATURES; j++) x[i * FEATURES + j] = parseFloat(cells[j]);
}
const parsed = performance.now();
const parts = ['p0,p1\\n'];
let compute = 0;
for (let i = 0; i < rows; i += 1024) {
  const n = Math.min(1024, rows - i);
  const c0 = performance.now();
  const res = await session.run({ [name]: new ort.Tensor('float32', x.subarray(i * FEATURES, (i + n) * FEATURES), [n, FEATURES]) });
  compute += performance.now() - c0;
  const y = res[session.outputNames[0]].data;
  let s = '';
  for (let r = 0; r < n; r++) s += y[r * 2] + ',' + y[r * 2 + 1] + '\\n';
  parts.push(s);
}
writeFileSync(out, parts.join(''));
const end = performance.now();
console.log(JSON.stringify({ work: (end - started) / 1000, parse: (parsed - started) / 1000, compute: compute / 1000, startup: (started - t0) / 1000 }));
`;

function peerPredict(csv, out) {
  const script = join(work, 'peer-predict.mjs');
  writeFileSync(script, PEER_PREDICT);
  const ortUrl = new URL(`file://${ortPath}`).href;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [script, csv, out, ortUrl, modelFile], { encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`in-process predict script failed:\n${r.stderr}`);
  return { wall, ...JSON.parse(r.stdout) };
}

// ---- run ---------------------------------------------------------------------------------------
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
console.log(`mlo serving benchmark${QUICK ? ' (BENCH_QUICK: short runs)' : ''}`);
console.log(`model: MLP ${FEATURES}->64->64->2, ${modelSource}`);
console.log(
  `load: ${hasWrk ? 'wrk -t1' : 'autocannon'}, ${DURATION}s per run after a 1s warm-up${QUICK ? '' : ', best of 2'}, POST /invocations {"inputs": [[${FEATURES} floats]]} (batch size 1), loopback`,
);
console.log(`machine: ${(await import('node:os')).cpus().length} cores (shared; figures are noisy)\n`);

const servers = [];
const mloPort = await freePort();
servers.push({
  name: 'mlo serve',
  url: `http://127.0.0.1:${mloPort}/invocations`,
  start: () => startServer(process.execPath, [MLO, 'serve', modelFile, '--port', String(mloPort), '-q'], `http://127.0.0.1:${mloPort}/invocations`),
});
const apiPy = findPython(['fastapi', 'uvicorn', 'onnxruntime', 'numpy']);
if (apiPy) {
  const fast = spawnSync(apiPy, ['-c', 'import uvloop, httptools'], { stdio: 'ignore' }).status === 0;
  for (const variant of fast ? ['', '--fast'] : ['']) {
    const port = await freePort();
    const label = variant ? 'FastAPI (uvloop+httptools)' : 'FastAPI (uvicorn default)';
    const args = [join(ROOT, 'bench/peers/fastapi_server.py'), modelFile, String(port), ...(variant ? [variant] : [])];
    servers.push({ name: label, url: `http://127.0.0.1:${port}/invocations`, start: () => startServer(apiPy, args, `http://127.0.0.1:${port}/invocations`) });
  }
} else {
  console.log('FastAPI peer skipped: no Python with fastapi, uvicorn, onnxruntime and numpy (set MLO_PYTHON)\n');
}

const results = {};
for (const s of servers) {
  const child = await s.start();
  results[s.name] = {};
  for (const c of CONCURRENCY) {
    // Best of two runs for every server alike: the machine is shared and a neighbour's burst is not ours.
    const runs = [await load(s.url, c)];
    if (!QUICK) runs.push(await load(s.url, c));
    results[s.name][c] = runs.reduce((a, b) => (a.rps >= b.rps ? a : b));
  }
  await stop(child);
}

const loop = await inProcessLoop();
console.log('HTTP serving, batch size 1');
console.log(`${'server'.padEnd(28)}${'conns'.padStart(6)}${'req/s'.padStart(10)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'errors'.padStart(8)}`);
for (const s of servers) {
  for (const c of CONCURRENCY) {
    const r = results[s.name][c];
    console.log(
      `${s.name.padEnd(28)}${String(c).padStart(6)}${fmt(r.rps).padStart(10)}${fmt(r.p50, 2).padStart(9)}${fmt(r.p99, 2).padStart(9)}${String(r.errors).padStart(8)}`,
    );
  }
}
console.log(`${'in-process session.run loop'.padEnd(28)}${'-'.padStart(6)}${fmt(loop).padStart(10)}`);
console.log('\nratios (mlo serve / peer), higher is better for req/s, lower for p99:');
for (const c of CONCURRENCY) {
  const m = results['mlo serve'][c];
  for (const s of servers.slice(1)) {
    const p = results[s.name][c];
    console.log(`  c=${c} vs ${s.name}: ${fmt(m.rps / p.rps, 2)}x req/s (target >= 10x), p99 ${fmt(m.p99, 2)} vs ${fmt(p.p99, 2)} ms (target lower)`);
  }
  console.log(`  c=${c} vs in-process session.run loop: ${fmt(m.rps / loop, 2)}x (target >= 0.5x)`);
}

// ---- batch prediction ---------------------------------------------------------------------------
const csv = join(work, 'x.csv');
{
  const header = Array.from({ length: FEATURES }, (_, j) => `f${j}`).join(',');
  const parts = [header + '\n'];
  let seed = 1;
  for (let i = 0; i < PREDICT_ROWS; i++) {
    let line = '';
    for (let j = 0; j < FEATURES; j++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      line += (j ? ',' : '') + ((seed / 0x7fffffff) * 4 - 2).toFixed(4);
    }
    parts.push(line + '\n');
  }
  writeFileSync(csv, parts.join(''));
}
const runPredict = () => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [MLO, 'predict', modelFile, '-i', csv, '-o', join(work, 'p-mlo.csv'), '--json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mlo predict failed:\n${r.stderr}`);
  return { wall: (performance.now() - t0) / 1000, work: JSON.parse(r.stdout).seconds };
};
const best = (runs, key) => runs.reduce((a, b) => (a[key] <= b[key] ? a : b));
runPredict();
const mloRun = best([runPredict(), runPredict(), runPredict()], 'wall');
peerPredict(csv, join(work, 'p-inproc.csv'));
const peer = best(
  [peerPredict(csv, join(work, 'p-inproc.csv')), peerPredict(csv, join(work, 'p-inproc.csv')), peerPredict(csv, join(work, 'p-inproc.csv'))],
  'wall',
);
console.log(`\nbatch prediction: ${fmt(PREDICT_ROWS)} rows x ${FEATURES} features, CSV in, CSV out, batches of 1024 (best of 3)`);
console.log(`${''.padEnd(44)}${'process s'.padStart(10)}${'rows/s'.padStart(11)}${'work s'.padStart(9)}`);
console.log(
  `${'mlo predict (streamed)'.padEnd(44)}${fmt(mloRun.wall, 3).padStart(10)}${fmt(PREDICT_ROWS / mloRun.wall).padStart(11)}${fmt(mloRun.work, 3).padStart(9)}`,
);
console.log(
  `${'in-process script (readFileSync+split+run)'.padEnd(44)}${fmt(peer.wall, 3).padStart(10)}${fmt(PREDICT_ROWS / peer.wall).padStart(11)}${fmt(peer.work, 3).padStart(9)}  (parse ${fmt(peer.parse, 3)} s, session.run ${fmt(peer.compute, 3)} s)`,
);
console.log(`  ratio, whole process: ${fmt(peer.wall / mloRun.wall, 2)}x the in-process speed (target >= 0.8x)`);
console.log(`  ratio, work only (after start-up): ${fmt(peer.work / mloRun.work, 2)}x`);
