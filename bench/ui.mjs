// `mlo ui` benchmarks (issue 16), in one run:
//  1. first meaningful paint of the runs table (rows on screen) with 10,000 runs x 20 metrics in headless
//     Chromium, < 1 s from navigation;
//  2. a step chart of 1,000,000 points drawn (uPlot's draw, and the whole page: fetch + parse + draw), < 1 s;
//  3. the API's runs list against `mlo exp show --json` printing the same document: ratio < 1.
// Chromium is $MLO_CHROMIUM or `chromium` on PATH; without it parts 1 and 2 are skipped (and say so).
// BENCH_QUICK=1 runs smaller sizes. Needs a build (npm run build).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MLO, QUICK, ROOT, fmt, median, medianOf, mlo, report } from './lib.mjs';

const { TrackingDb } = await import(pathToFileURL(join(ROOT, 'dist', 'core', 'tracking', 'db.js')).href);
const work = mkdtempSync(join(tmpdir(), 'mlo-bench-ui-'));
const ms = (x) => `${(x * 1000).toFixed(0)} ms`;

function chromiumPath() {
  if (process.env.MLO_CHROMIUM) return process.env.MLO_CHROMIUM;
  const r = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Starts `mlo ui --json --port 0` and resolves with its URL and a stop function. */
function startUi(cwd) {
  const proc = spawn(process.execPath, [MLO, 'ui', '--json', '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout.on('data', (c) => {
      out += c;
      try {
        const info = JSON.parse(out);
        resolve({ url: info.url, stop: () => proc.kill('SIGTERM') });
      } catch {
        // not complete yet
      }
    });
    proc.on('exit', (code) => reject(new Error(`mlo ui exited with ${code}`)));
  });
}

try {
  const runs = QUICK ? 1_000 : 10_000;
  const points = QUICK ? 100_000 : 1_000_000;
  const repo = join(work, 'repo');
  mkdirSync(repo);
  spawnSync('git', ['init', '-q', '-b', 'main'], { cwd: repo });
  mlo(['init', '-q'], repo);
  let bigRun;
  {
    const t0 = Date.now();
    const db = TrackingDb.open(join(repo, '.mlo', 'tracking.db'));
    const ts = Date.now();
    db.write(() => {
      for (let r = 0; r < runs; r++) {
        const { rid } = db.createRun({ status: 'finished', name: `run-${r}`, startTime: ts + r, gitCommit: 'a'.repeat(40), branch: 'main', dirty: false });
        db.logParams(rid, { lr: String(0.001 * (r % 10)), depth: String(r % 7), seed: String(r), opt: r % 2 ? 'adam' : 'sgd', batch: '32' });
        const m = [];
        for (let k = 0; k < 20; k++) m.push({ key: `metric_${String(k).padStart(2, '0')}`, step: 0, value: Math.sin(r * 20 + k), text: null, ts });
        db.logMetrics(rid, m);
        db.updateRun(rid, { end_time: ts + r + 1 });
      }
    });
    const big = db.createRun({ status: 'finished', name: 'long', startTime: ts + runs, branch: 'main' });
    const series = new Array(points);
    for (let i = 0; i < points; i++) series[i] = { key: 'loss', step: i, value: 1 / (1 + i / 1000) + 0.01 * Math.sin(i), text: null, ts };
    db.logMetrics(big.rid, series);
    db.updateRun(big.rid, { end_time: ts + runs + 1 });
    bigRun = big.id;
    db.close();
    console.log(`(set-up: ${runs} runs x 20 metrics and one run of ${points.toLocaleString('en-US')} points in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }

  const ui = await startUi(repo);
  try {
    // 3. API vs CLI, same document.
    const fetchRuns = async () => {
      const t0 = process.hrtime.bigint();
      const res = await fetch(`${ui.url}/api/runs`);
      await res.text();
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    await fetchRuns();
    const api = [];
    for (let i = 0; i < 3; i++) api.push(await fetchRuns());
    const apiRuns = median(api);
    const cli = medianOf(3, () => mlo(['exp', 'show', '--json'], repo));
    report(`runs list over ${(runs + 1).toLocaleString('en-US')} runs x 20 metrics`, [
      ['GET /api/runs', ms(apiRuns), 'mlo exp show --json', ms(cli), fmt.x(apiRuns / cli), '< 1x', apiRuns < cli ? 'yes' : 'NO'],
    ]);

    const executablePath = chromiumPath();
    if (!executablePath) {
      console.log('\n(skipped the browser measures: no Chromium; set MLO_CHROMIUM or install the chromium package)');
    } else {
      const { chromium } = await import('playwright-core');
      const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        // 1. First meaningful paint: navigation start to the frame after the first rows are in the DOM (the page records it).
        const paints = [];
        for (let i = 0; i < 3; i++) {
          await page.goto('about:blank');
          await page.goto(`${ui.url}/#/runs`);
          await page.waitForSelector('.page[data-paint-ms]');
          // The whole list follows the first page; the count says when it is in.
          await page.waitForFunction((n) => document.querySelector('[data-testid=run-count]')?.textContent === `${n} runs`, runs + 1, { timeout: 60_000 });
          paints.push(Number(await page.getAttribute('.page', 'data-paint-ms')) / 1000);
        }
        const rows = await page.locator('tr.run').count();
        const paint = median(paints);
        // 2. The 1,000,000-point chart.
        const draws = [];
        const whole = [];
        for (let i = 0; i < 3; i++) {
          await page.goto('about:blank');
          await page.goto(`${ui.url}/#/compare?runs=${bigRun}`);
          await page.waitForSelector('[data-testid=step-chart][data-done-ms]', { timeout: 60_000 });
          whole.push(Number(await page.getAttribute('[data-testid=step-chart]', 'data-done-ms')) / 1000);
          draws.push(Number(await page.getAttribute('[data-testid=step-chart]', 'data-draw-ms')) / 1000);
        }
        const pts = points.toLocaleString('en-US');
        report('headless Chromium', [
          [
            `runs table first paint (${rows} of ${runs + 1} rows in the DOM)`,
            ms(paint),
            'target',
            '1000 ms',
            fmt.x(paint / 1),
            '< 1 s',
            paint < 1 ? 'yes' : 'NO',
          ],
          [
            `step chart of ${pts} points: uPlot draw to next frame`,
            ms(median(draws)),
            'target',
            '1000 ms',
            fmt.x(median(draws)),
            '< 1 s',
            median(draws) < 1 ? 'yes' : 'NO',
          ],
          [
            `step chart of ${pts} points: page (fetch, parse, draw)`,
            ms(median(whole)),
            'target',
            '1000 ms',
            fmt.x(median(whole)),
            '< 1 s',
            median(whole) < 1 ? 'yes' : 'NO',
          ],
        ]);
      } finally {
        await browser.close();
      }
    }
  } finally {
    ui.stop();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
