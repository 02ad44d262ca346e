/**
 * The UI in a real browser: Playwright (playwright-core) drives Chromium, found as $MLO_CHROMIUM or
 * `chromium` on PATH (Debian's package; Playwright's own downloads cannot be fetched here). Without
 * one the suite is skipped and says why. Screenshots of each page go to the test's temp folder and
 * their paths are printed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, json, makeRepo, mlo, tempDir } from '../helpers.js';
import { startUi, uiRepo, type RunningUi, type UiRepo } from './fixture.js';

function findChromium(): string | undefined {
  if (process.env.MLO_CHROMIUM) return process.env.MLO_CHROMIUM;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not on PATH
    }
  }
  return undefined;
}

const executablePath = findChromium();
if (!executablePath) console.warn('test/ui/browser.test.ts skipped: no Chromium (set MLO_CHROMIUM or install the chromium package)');

describe.skipIf(!executablePath)('mlo ui in Chromium', () => {
  let repo: UiRepo;
  let ui: RunningUi;
  let browser: Browser;
  let page: Page;
  const shots = mkdtempSync(join(tmpdir(), 'mlo-ui-shots-'));
  const errors: string[] = [];

  const shoot = async (name: string) => {
    const file = join(shots, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot: ${file}`);
  };
  const open = async (hash: string) => {
    await page.goto(`${ui.url}/${hash}`);
    await page.waitForSelector('.page[data-ready]');
  };

  beforeAll(async () => {
    repo = await uiRepo();
    ui = await startUi(repo.dir);
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => errors.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await ui?.stop();
    if (repo) rmSync(repo.dir, { recursive: true, force: true });
    console.log(`screenshots kept in ${shots}`);
  });

  it('runs -> compare -> chart', async () => {
    await open('#/runs');
    expect(await page.locator('tr.run').count()).toBe(4);
    expect(await page.textContent('[data-testid=run-count]')).toBe('4 runs');
    // The best acc (0.9, the lr 0.1 run) is marked.
    expect(await page.locator('td.best').allTextContents()).toContain('0.9');
    await shoot('runs');

    await page.fill('[data-testid=filter]', 'acc<0.85 status=finished');
    expect(await page.locator('tr.run').count()).toBe(3);
    await page.fill('[data-testid=filter]', 'acc>2');
    expect(await page.locator('tr.run').count()).toBe(0);
    expect(await page.textContent('.page')).toContain("No run matches the filter 'acc>2'");
    // Tags filter too: `exp run -S` records its overrides as the tag mlo.set.
    await page.fill('[data-testid=filter]', 'mlo.set=lr=0.3');
    expect(await page.locator('tr.run').count()).toBe(1);
    await page.fill('[data-testid=filter]', 'lr>=0.2 lr<=0.3');
    expect(await page.locator('tr.run').count()).toBe(2);

    await page.locator('tr.run input[type=checkbox]').nth(0).check();
    await page.locator('tr.run input[type=checkbox]').nth(1).check();
    await page.click('[data-testid=compare]');
    await page.waitForSelector('.page[data-page=compare][data-ready]');
    const metrics = page.locator('[data-testid=compare-metrics]');
    expect(await metrics.locator('thead th').allTextContents()).toEqual(['', expect.stringMatching(/^medium \(/), expect.stringMatching(/^fast \(/)]);
    expect(await metrics.locator('tr[data-key=acc] td').allTextContents()).toEqual(['0.8', '0.7']);
    expect(await metrics.locator('tr[data-key=acc]').getAttribute('class')).toBe('differs');
    expect(await page.locator('[data-testid=compare-params] tr[data-key=lr] td').allTextContents()).toEqual(['0.2', '0.3']);

    const chart = page.locator('[data-testid=step-chart]');
    expect(await chart.getAttribute('data-series')).toBe('2');
    expect(await chart.locator('canvas').count()).toBe(1);
    // uPlot's legend: the x series and one row per run.
    expect(await chart.locator('.u-legend .u-series').count()).toBe(3);
    await page.check('[data-testid=log-scale]');
    expect(await chart.locator('canvas').count()).toBe(1);
    expect(await page.getAttribute('[data-testid=scatter-chart]', 'data-points')).toBe('4');
    await shoot('compare');
  });

  it('revisions: metrics across branches and the declared plots drawn', async () => {
    await open('#/revisions');
    const metrics = page.locator('[data-testid=rev-metrics]');
    expect(await metrics.locator('thead th').allTextContents()).toEqual([
      'file',
      'key',
      'workspace',
      expect.stringMatching(/^exp \(/),
      expect.stringMatching(/^main \(/),
    ]);
    expect(await metrics.locator('tbody tr').first().locator('td').allTextContents()).toEqual(['metrics.json', '0.8', '0.6', '0.9']);
    await page.waitForSelector('figure[data-file="roc.csv"] .vega[data-drawn] svg');
    await page.waitForSelector('figure[data-file="confusion.csv"] .vega[data-drawn] svg');
    await shoot('revisions');
  });

  it('models: the registry, a model with its versions and audit log', async () => {
    await open('#/models');
    expect(await page.locator('[data-testid=models-table] tbody tr').count()).toBe(1);
    await page.click('text=churn');
    await page.waitForSelector('.page[data-page=models][data-ready] [data-testid=versions-table]');
    expect(await page.locator('[data-testid=versions-table] tbody tr').count()).toBe(2);
    expect(await page.locator('[data-testid=audit-table] tbody tr').last().textContent()).toContain('auc up');
    expect(await page.locator('article[data-version="2"] .alias').textContent()).toBe('production');
    await shoot('models');
  });

  it('pipeline and data: the stage graph with states, the tracked outputs', async () => {
    writeFileSync(join(repo.dir, 'train.cjs'), `${await (await import('node:fs/promises')).readFile(join(repo.dir, 'train.cjs'), 'utf8')}\n// changed\n`);
    await open('#/pipeline');
    expect(await page.locator('[data-testid=stage-graph] g.stage').count()).toBe(2);
    expect(await page.getAttribute('g.stage[data-stage=train]', 'class')).toContain('changed');
    expect(await page.getAttribute('g.stage[data-stage=prepare]', 'class')).toContain('fresh');
    expect(await page.locator('[data-testid=stages-table]').textContent()).toMatch(/train\.cjs/);
    expect(await page.locator('[data-testid=data-table] tbody tr').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining('data.txt'), expect.stringContaining('out')]),
    );
    await shoot('pipeline');
  });

  it('mlo plots diff writes an offline page that vega-embed draws, declared plots included', async () => {
    const r = await mlo(repo.dir, 'plots', 'diff', 'main', 'exp', '-o', 'plots.html');
    expect(r.exitCode, r.stderr).toBe(0);
    const specs = JSON.parse((await mlo(repo.dir, 'plots', 'diff', 'main', 'exp', '--json')).stdout).specs as { title: string }[];
    expect(specs.map((s) => s.title)).toEqual(['loss', 'acc', 'confusion.csv', 'roc.csv']);
    const offline = await browser.newPage();
    // Offline: every request beyond the file itself fails.
    await offline.route(/^(?!file:)/, (route) => route.abort());
    await offline.goto(`file://${join(repo.dir, 'plots.html')}`);
    await offline.waitForFunction((n) => document.querySelectorAll('figure svg.marks').length === n, specs.length, { timeout: 30_000 });
    const file = join(shots, 'plots-diff.png');
    await offline.screenshot({ path: file, fullPage: true });
    console.log(`screenshot: ${file}`);
    await offline.close();
  });

  it('monitoring: serving health per arm of a 50/50 split, drift against a reference', async () => {
    // What `mlo serve --split churn@1=50,churn@2=50 --log serve.log` writes: the arms take turns; one
    // request to version 2 fails, and version 2 predicts higher scores.
    const lines = Array.from({ length: 40 }, (_, i) => {
      const version = i % 2 ? 2 : 1;
      const failed = i === 3;
      return JSON.stringify({
        ts: `2026-11-20T10:${String(i).padStart(2, '0')}:00Z`,
        model: 'churn',
        version,
        status: failed ? 500 : 200,
        latency_ms: 5 + i,
        inputs: { x: 50 + (i % 20) },
        outputs: failed ? null : { score: [version === 1 ? 0.2 : 0.8] },
      });
    });
    writeFileSync(join(repo.dir, 'serve.log'), `${lines.join('\n')}\n`);
    // Repeated values: a column of distinct integers reads as an id, which drift leaves out.
    writeFileSync(join(repo.dir, 'ref.csv'), `x\n${Array.from({ length: 30 }, (_, i) => i % 15).join('\n')}\n`);
    await open('#/monitor');
    await page.fill('[data-testid=monitor-log]', 'serve.log');
    await page.fill('[data-testid=monitor-reference]', 'ref.csv');
    await page.fill('[data-testid=monitor-current]', 'serve.log');
    await page.click('[data-testid=monitor-go]');
    await page.waitForSelector('.page[data-page=monitor][data-ready] [data-testid=drift-table]');
    const arms = await page
      .locator('[data-testid=serving-table] tbody tr')
      .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].slice(0, 6).map((td) => td.textContent)));
    expect(arms).toEqual([
      ['churn@1', 'churn', '1', '20', '0', '0.0%'],
      ['churn@2', 'churn', '2', '20', '1', '5.0%'],
    ]);
    const predictions = await page
      .locator('[data-testid=predictions-table] tbody tr')
      .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].slice(0, 4).map((td) => td.textContent)));
    expect(predictions).toEqual([
      ['churn@1', 'score', '20', '0.2'],
      ['churn@2', 'score', '19', '0.8'],
    ]);
    expect(await page.locator('[data-testid=drift-table] tbody tr').first().textContent()).toMatch(/^xfeaturenumeric.*psi/);
    await shoot('monitor');
  });

  it('keeps up with a new run while open', async () => {
    await open('#/runs');
    // The filter outlives page changes (the app keeps it); clear it.
    await page.fill('[data-testid=filter]', '');
    expect(await page.locator('tr.run').count()).toBe(4);
    expect((await mlo(repo.dir, 'exp', 'run', '-S', 'lr=0.05', '-n', 'late')).exitCode).toBe(0);
    await page.waitForFunction(() => document.querySelectorAll('tr.run').length === 5, undefined, { timeout: 30_000 });
    expect(errors).toEqual([]);
  });

  it('a long series is drawn decimated; zooming in asks for the visible steps and gets every point', async () => {
    // 5,000 points: over the chart's budget of two per pixel (2 x 1,248 at this viewport).
    const train = `require('fs').appendFileSync(process.env.MLO_METRICS_FILE, Array.from({ length: 5000 }, (_, step) =>
      JSON.stringify({ step, loss: 1 / (1 + step / 100) + 0.01 * Math.sin(step) })).join('\\n') + '\\n');`;
    const dir = await makeRepo({ 'train.cjs': train, 'mlo.yaml': 'stages:\n  train:\n    cmd: node train.cjs\n    deps: [train.cjs]\n' });
    expect((await mlo(dir, 'run')).exitCode).toBe(0);
    const [run] = json(await mlo(dir, 'exp', 'show', '--json')).runs;
    const long = await startUi(dir);
    try {
      await page.goto(`${long.url}/#/compare?runs=${run.id}`);
      await page.waitForSelector('[data-testid=step-chart][data-done-ms]');
      expect(await page.textContent('[data-testid=chart-note]')).toMatch(/^1 of 1 series drawn from the lowest and highest value per pixel/);
      // Drag over a tenth of the plot: about 500 steps, which fit the budget.
      const over = await page.locator('[data-testid=step-chart] .u-over').boundingBox();
      if (!over) throw new Error('no uPlot plot area');
      const asked = page.waitForRequest((r) => /\/api\/series\?.*from=\d+.*to=\d+/.test(r.url()));
      await page.mouse.move(over.x + over.width * 0.4, over.y + over.height / 2);
      await page.mouse.down();
      await page.mouse.move(over.x + over.width * 0.5, over.y + over.height / 2, { steps: 5 });
      await page.mouse.up();
      const zoom = new URL((await asked).url());
      expect(Number(zoom.searchParams.get('to')) - Number(zoom.searchParams.get('from'))).toBeLessThan(1000);
      await page.waitForFunction(() => document.querySelector('[data-testid=chart-note]')?.textContent === '');
      await shoot('zoomed');
      // Double-click: the whole series again, decimated.
      await page.mouse.dblclick(over.x + over.width / 2, over.y + over.height / 2);
      await page.waitForFunction(() => document.querySelector('[data-testid=chart-note]')?.textContent !== '');
      expect(errors).toEqual([]);
    } finally {
      await long.stop();
    }
  });

  it('shows a corrupt tracking database as an error banner', async () => {
    const dir = tempDir();
    await git(dir, 'init', '-q', '-b', 'main');
    expect((await mlo(dir, 'init')).exitCode).toBe(0);
    writeFileSync(join(dir, '.mlo', 'tracking.db'), 'not a database'.repeat(500));
    const broken = await startUi(dir);
    try {
      await page.goto(`${broken.url}/#/runs`);
      await page.waitForSelector('#banner:not([hidden])');
      expect(await page.textContent('#banner')).toMatch(/MLO_DB_(CORRUPT|CANT_OPEN).*tracking\.db/s);
      await shoot('corrupt-db');
    } finally {
      await broken.stop();
    }
  });
});
