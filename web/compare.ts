/**
 * Comparing runs (#/compare?runs=a,b,...): params and metrics side by side, rows whose values differ
 * highlighted; one metric's step series of every run overlaid on one chart (log scale, smoothing,
 * drag to zoom); and a scatter of a param against a metric over every run.
 */
import type uPlot from 'uplot';
import { api } from './api.js';
import { alignedData, scatterChart, stepChart } from './charts.js';
import { empty, fmt, h, short } from './dom.js';
import type { RunRow } from './filter.js';

interface RunDetail extends RunRow {
  tags: Record<string, string>;
  series: string[];
}

interface SeriesDoc {
  key: string;
  /** `decimated`: the lowest and highest value of each step bucket, not every point (docs/ui.md). */
  series: { run: string; name: string | null; decimated: boolean; step: number[]; value: (number | null)[] }[];
}

/** Points asked per run: two (a bucket's minimum and maximum) per pixel of the chart's width. */
const budget = (box: HTMLElement) => 2 * Math.max(400, box.clientWidth || 900);

const label = (r: { id: string; name: string | null }) => (r.name ? `${r.name} (${short(r.id)})` : short(r.id));

function sideBySide(title: string, runs: RunDetail[], pick: (r: RunDetail) => Record<string, unknown>, testid: string): HTMLElement {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(pick(r))))].sort();
  if (!keys.length) return h('section', {}, h('h3', {}, title), empty(`No ${title.toLowerCase()} recorded.`));
  const rows = keys.map((k) => {
    const values = runs.map((r) => pick(r)[k]);
    const differs = values.some((v) => fmt(v) !== fmt(values[0]));
    return h('tr', { class: differs ? 'differs' : '', 'data-key': k }, h('th', {}, k), ...values.map((v) => h('td', {}, v === undefined ? '\u2014' : fmt(v))));
  });
  const changed = rows.filter((r) => r.classList.contains('differs')).length;
  return h(
    'section',
    {},
    h('h3', {}, `${title} `, h('span', { class: 'muted' }, `(${changed} of ${keys.length} differ)`)),
    h(
      'table',
      { class: 'compare', 'data-testid': testid },
      h('thead', {}, h('tr', {}, h('th', {}, ''), ...runs.map((r) => h('th', {}, label(r))))),
      h('tbody', {}, ...rows),
    ),
  );
}

export async function comparePage(root: HTMLElement, query: URLSearchParams): Promise<() => Promise<void>> {
  const ids = (query.get('runs') ?? '').split(',').filter(Boolean);
  if (!ids.length) {
    root.append(empty('No runs selected: tick runs in the Runs table, then Compare.'));
    return async () => {};
  }
  const tables = h('div', { class: 'side' });
  const chartBox = h('div', { class: 'chart', 'data-testid': 'step-chart' });
  const chartNote = h('p', { class: 'muted', 'data-testid': 'chart-note' });
  const keySelect = h('select', { 'data-testid': 'series-key' });
  const logBox = h('input', { type: 'checkbox', 'data-testid': 'log-scale' });
  const smoothing = h('input', { type: 'range', min: 0, max: 0.99, step: 0.01, value: 0, 'data-testid': 'smoothing' });
  const scatterBox = h('div', { class: 'chart', 'data-testid': 'scatter-chart' });
  const xSelect = h('select', { 'data-testid': 'scatter-param' });
  const ySelect = h('select', { 'data-testid': 'scatter-metric' });
  root.append(
    h('h2', {}, `Comparing ${ids.length} run${ids.length === 1 ? '' : 's'}`),
    tables,
    h(
      'section',
      {},
      h('h3', {}, 'Step series'),
      h('div', { class: 'toolbar' }, keySelect, h('label', {}, logBox, ' log scale'), h('label', {}, 'smoothing ', smoothing)),
      chartBox,
      chartNote,
    ),
    h('section', {}, h('h3', {}, 'Params against a metric (every run)'), h('div', { class: 'toolbar' }, xSelect, ' vs ', ySelect), scatterBox),
  );
  let chart: uPlot | undefined;
  let scatter: uPlot | undefined;
  let runs: RunDetail[] = [];
  /** The whole series (decimated when long), and what the chart shows: it, or a zoomed range of it. */
  let wholeDoc: SeriesDoc | undefined;
  let seriesDoc: SeriesDoc | undefined;
  /** The step range last asked for, a pending zoom request, and a counter that drops stale answers. */
  let shown = '';
  let zoomTimer: ReturnType<typeof setTimeout> | undefined;
  let generation = 0;

  const note = () => {
    const cut = seriesDoc?.series.filter((s) => s.decimated).length ?? 0;
    chartNote.textContent = cut
      ? `${cut} of ${seriesDoc?.series.length} series drawn from the lowest and highest value per pixel of steps; drag to zoom in and see every point.`
      : '';
  };
  const stepsOf = (doc: SeriesDoc) => doc.series.map((s) => s.step);
  const drawnOf = (doc: SeriesDoc) =>
    doc.series.filter((s) => s.step.length > 0).map((s) => ({ label: label({ id: s.run, name: s.name }), step: s.step, value: s.value }));

  /**
   * A zoom into a decimated series asks the server again for the visible steps: a range that fits the
   * budget comes back exact. Zooming out to the whole range goes back to the first answer.
   */
  const onZoom = (min: number, max: number) => {
    if (!wholeDoc?.series.some((s) => s.decimated)) return;
    const range = `${min},${max}`;
    if (range === shown) return;
    clearTimeout(zoomTimer);
    const whole = stepsOf(wholeDoc).filter((s) => s.length);
    const covers = whole.every((s) => min <= s[0] && max >= s[s.length - 1]);
    if (covers && seriesDoc === wholeDoc) return;
    zoomTimer = setTimeout(async () => {
      shown = range;
      const mine = ++generation;
      const doc = covers
        ? (wholeDoc as SeriesDoc)
        : await api<SeriesDoc>('/api/series', {
            key: (wholeDoc as SeriesDoc).key,
            run: runs.map((r) => r.id).join(','),
            points: budget(chartBox),
            from: Math.floor(min),
            to: Math.ceil(max),
          });
      if (mine !== generation || !chart) return;
      seriesDoc = doc;
      const drawn = drawnOf(doc);
      if (drawn.length !== chart.series.length - 1) return drawChart();
      chart.setData(alignedData(drawn, Number(smoothing.value)), false);
      chart.setScale('x', { min, max });
      note();
    }, 120);
  };

  const drawChart = () => {
    chart?.destroy();
    chart = undefined;
    chartBox.replaceChildren();
    if (!seriesDoc) {
      chartBox.append(empty('None of these runs logged a step series (a metric with more than one step).'));
      delete chartBox.dataset.series;
      return;
    }
    const t0 = performance.now();
    shown = '';
    chart = stepChart(chartBox, drawnOf(seriesDoc), { title: seriesDoc.key, log: logBox.checked, smoothing: Number(smoothing.value), onZoom });
    note();
    // How long uPlot took to draw, to the next frame, and when the chart was on screen (bench/ui.mjs reads them).
    requestAnimationFrame(() => {
      chartBox.dataset.drawMs = (performance.now() - t0).toFixed(1);
      chartBox.dataset.doneMs = performance.now().toFixed(1);
    });
  };

  const loadSeries = async () => {
    const key = keySelect.value;
    generation++;
    wholeDoc = key ? await api<SeriesDoc>('/api/series', { key, run: runs.map((r) => r.id).join(','), points: budget(chartBox) }) : undefined;
    seriesDoc = wholeDoc;
    drawChart();
  };

  const drawScatter = async () => {
    scatter?.destroy();
    scatter = undefined;
    scatterBox.replaceChildren();
    if (!xSelect.value || !ySelect.value) {
      scatterBox.append(empty('Needs a numeric param and a numeric metric.'));
      return;
    }
    const all = await api<{ runs: RunRow[] }>('/api/runs');
    const points = all.runs
      .map((r) => ({ x: Number(r.params[xSelect.value]), y: Number(r.metrics[ySelect.value]) }))
      .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (!points.length) scatterBox.append(empty(`No run has both ${xSelect.value} and ${ySelect.value} as numbers.`));
    else scatter = scatterChart(scatterBox, points, { x: xSelect.value, y: ySelect.value });
  };

  const load = async () => {
    runs = await Promise.all(ids.map((id) => api<RunDetail>('/api/run', { id })));
    tables.replaceChildren(
      sideBySide('Params', runs, (r) => r.params, 'compare-params'),
      sideBySide('Metrics', runs, (r) => r.metrics, 'compare-metrics'),
      sideBySide(
        'Run',
        runs,
        (r) => ({ status: r.status, experiment: r.experiment, branch: r.branch, commit: short(r.commit, 10), started: r.start, ...r.tags }),
        'compare-runs',
      ),
    );
    const keys = [...new Set(runs.flatMap((r) => r.series))].sort();
    const keep = keySelect.value;
    keySelect.replaceChildren(...keys.map((k) => h('option', { value: k }, k)));
    if (keys.includes(keep)) keySelect.value = keep;
    const numericParams = [...new Set(runs.flatMap((r) => Object.keys(r.params).filter((k) => Number.isFinite(Number(r.params[k])))))].sort();
    const numericMetrics = [...new Set(runs.flatMap((r) => Object.keys(r.metrics).filter((k) => typeof r.metrics[k] === 'number')))].sort();
    const [kx, ky] = [xSelect.value, ySelect.value];
    xSelect.replaceChildren(...numericParams.map((k) => h('option', { value: k }, k)));
    ySelect.replaceChildren(...numericMetrics.map((k) => h('option', { value: k }, k)));
    if (numericParams.includes(kx)) xSelect.value = kx;
    if (numericMetrics.includes(ky)) ySelect.value = ky;
    // The chart first: the scatter reads every run, and would delay it.
    await loadSeries();
    await drawScatter();
  };

  keySelect.addEventListener('change', () => void loadSeries());
  // uPlot's double-click resets to the data it holds, a zoomed range once asked for: back to the whole.
  chartBox.addEventListener('dblclick', () => {
    if (seriesDoc === wholeDoc) return;
    clearTimeout(zoomTimer);
    generation++;
    seriesDoc = wholeDoc;
    drawChart();
  });
  logBox.addEventListener('change', drawChart);
  smoothing.addEventListener('input', drawChart);
  xSelect.addEventListener('change', () => void drawScatter());
  ySelect.addEventListener('change', () => void drawScatter());
  await load();
  return load;
}
