/**
 * Charts drawn with uPlot (a canvas chart library: a 1,000,000-point series draws in well under a
 * second, where an SVG chart would create a million nodes): step series of several runs overlaid on
 * one chart, and a scatter of a param against a metric.
 */
import uPlot from 'uplot';

const COLORS = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];

export interface StepSeries {
  label: string;
  step: number[];
  value: (number | null)[];
}

export interface StepChartOptions {
  title: string;
  log?: boolean;
  /** Exponential moving average weight in [0, 1): 0 draws the raw values. */
  smoothing?: number;
  width?: number;
  /** Called with the visible step range whenever it changes (zoom, reset, new data). */
  onZoom?: (min: number, max: number) => void;
}

/** Exponential moving average, skipping gaps (the TensorBoard-style smoothing). */
export function smooth(values: (number | null)[], weight: number): (number | null)[] {
  if (!(weight > 0)) return values;
  const out: (number | null)[] = new Array(values.length);
  let last: number | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null) {
      out[i] = null;
      continue;
    }
    last = last === undefined ? v : last * weight + v * (1 - weight);
    out[i] = last;
  }
  return out;
}

/**
 * Draws into `target` and returns the chart. Series with different steps are joined on the union of
 * steps (uPlot.join), leaving gaps that are bridged, not dropped to zero. Drag to zoom, double-click
 * to reset.
 */
export function stepChart(target: HTMLElement, series: StepSeries[], options: StepChartOptions): uPlot {
  const data = alignedData(series, options.smoothing ?? 0);
  const opts: uPlot.Options = {
    title: options.title,
    width: options.width ?? Math.max(400, target.clientWidth || 900),
    height: 360,
    scales: { x: { time: false }, y: options.log ? { distr: 3 } : {} },
    axes: [{ label: 'step' }, { label: options.title, size: 70 }],
    series: [
      { label: 'step' },
      ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true, points: { show: s.step.length < 60 } })),
    ],
    hooks: {
      setScale: [
        (u, key) => {
          if (key === 'x' && u.scales.x.min !== undefined && u.scales.x.max !== undefined) options.onZoom?.(u.scales.x.min, u.scales.x.max);
        },
      ],
    },
  };
  target.dataset.series = String(series.length);
  return new uPlot(opts, data, target);
}

/** The series on one step axis, as uPlot draws them (smoothed). */
export function alignedData(series: StepSeries[], smoothing: number): uPlot.AlignedData {
  const tables = series.map((s) => [s.step, smooth(s.value, smoothing)] as uPlot.AlignedData);
  return tables.length === 1 ? tables[0] : uPlot.join(tables);
}

/** A scatter of (x, y) points, sorted by x as uPlot needs; each point labelled in the legend on hover. */
export function scatterChart(target: HTMLElement, points: { x: number; y: number }[], labels: { x: string; y: string }): uPlot {
  const sorted = points.slice().sort((a, b) => a.x - b.x);
  const opts: uPlot.Options = {
    width: Math.max(400, target.clientWidth || 700),
    height: 320,
    scales: { x: { time: false } },
    axes: [{ label: labels.x }, { label: labels.y, size: 70 }],
    series: [{ label: labels.x }, { label: labels.y, stroke: COLORS[0], paths: () => null, points: { show: true, size: 7, fill: COLORS[0] } }],
  };
  target.dataset.points = String(sorted.length);
  return new uPlot(opts, [sorted.map((p) => p.x), sorted.map((p) => p.y)], target);
}
