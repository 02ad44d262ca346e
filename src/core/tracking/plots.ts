/**
 * `mlo plots show | diff`: step series and metrics across runs or revisions, as Vega-Lite specs in one
 * self-contained HTML file. There is no network at view time (and no CDN), so the page carries a small
 * renderer of its own that draws the specs' subset mlo emits (line and bar marks, quantitative or
 * nominal x, a colour per run) as SVG.
 */
import type { Repo } from '../repo/repo.js';
import type { TrackingDb } from './db.js';
import { filesAt, WORKSPACE, type MissingFile } from './revisions.js';
import type { Scalar } from './values.js';
import { plural } from '../../base/plural.js';

export interface VegaLiteSpec {
  $schema: string;
  title: string;
  mark: { type: 'line' | 'bar'; point?: boolean };
  data: { values: Record<string, string | number>[] };
  encoding: {
    x: { field: string; type: 'quantitative' | 'nominal'; title: string };
    y: { field: string; type: 'quantitative'; title: string };
    color?: { field: string; type: 'nominal'; title: string };
  };
}

export interface PlotsData {
  title: string;
  specs: VegaLiteSpec[];
  /** plots diff: metrics files a revision records but that could not be read (the plot lacks them), or revisions with none. */
  missing?: (MissingFile & { rev: string })[];
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

function seriesSpec(metric: string, values: { step: number; value: number; run: string }[]): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    title: metric,
    mark: { type: 'line', point: values.length < 60 },
    data: { values },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: metric },
      color: { field: 'run', type: 'nominal', title: 'run' },
    },
  };
}

function scalarSpec(metric: string, values: { label: string; value: number }[], xTitle: string): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    title: metric,
    mark: { type: 'bar' },
    data: { values },
    encoding: {
      x: { field: 'label', type: 'nominal', title: xTitle },
      y: { field: 'value', type: 'quantitative', title: metric },
    },
  };
}

interface RunRef {
  rid: number;
  label: string;
}

/** Series (keys with more than one point) and latest values of `runs`, as specs. */
function specsForRuns(db: TrackingDb, runs: RunRef[], xTitle: string): VegaLiteSpec[] {
  const series = new Map<string, { step: number; value: number; run: string }[]>();
  const scalars = new Map<string, { label: string; value: number }[]>();
  for (const r of runs) {
    for (const key of db.seriesKeys(r.rid)) {
      const list = series.get(key) ?? [];
      for (const p of db.history(r.rid, key)) if (p.value !== null && Number.isFinite(p.value)) list.push({ step: p.step, value: p.value, run: r.label });
      series.set(key, list);
    }
    for (const [key, v] of Object.entries(db.latestMetrics(r.rid))) {
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const list = scalars.get(key) ?? [];
      list.push({ label: r.label, value: v });
      scalars.set(key, list);
    }
  }
  return [
    ...[...series.keys()].sort().map((k) => seriesSpec(k, series.get(k)!)),
    ...[...scalars.keys()]
      .sort()
      .filter((k) => !series.has(k))
      .map((k) => scalarSpec(k, scalars.get(k)!, xTitle)),
  ];
}

function labelOf(r: { id: string; name: string | null }): string {
  return r.name ? `${r.name} (${r.id.slice(0, 7)})` : r.id.slice(0, 7);
}

/** `plots show [RUN...]`: the given runs, or the latest `limit` finished ones. */
export function plotsForRuns(db: TrackingDb, refs: string[], limit = 10): PlotsData {
  const rows = refs.length ? refs.map((r) => db.findRun(r)) : db.listRuns({ status: ['finished', 'failed'], limit });
  return { title: `mlo plots: ${plural(rows.length, 'run')}`, specs: specsForRuns(db, rows.map((r) => ({ rid: r.rid, label: labelOf(r) })).reverse(), 'run') };
}

/**
 * `plots diff [REV...]` (default HEAD and the workspace): the metrics files at each revision, and the
 * step series of the latest run recorded on that revision's commit (for the workspace: the latest run).
 */
export async function plotsForRevs(repo: Repo, db: TrackingDb, revs: string[]): Promise<PlotsData> {
  const list = revs.length ? revs : ['HEAD', WORKSPACE];
  const scalars = new Map<string, { label: string; value: number }[]>();
  const runs: RunRef[] = [];
  const missing: PlotsData['missing'] = [];
  for (const rev of list) {
    const at = await filesAt(repo, 'metrics', rev);
    missing.push(...at.missing.map((m) => ({ rev, ...m })));
    const label = at.sha ? `${rev} (${at.sha.slice(0, 7)})` : rev;
    for (const [file, values] of Object.entries(at.files)) {
      for (const [key, v] of Object.entries(values as Record<string, Scalar>)) {
        if (typeof v !== 'number' || !Number.isFinite(v)) continue;
        const k = Object.keys(at.files).length > 1 ? `${file}:${key}` : key;
        const l = scalars.get(k) ?? [];
        l.push({ label, value: v });
        scalars.set(k, l);
      }
    }
    const run = db.read(() =>
      at.sha
        ? (db.db.prepare("SELECT rid, id, name FROM runs WHERE git_commit = ? AND status = 'finished' ORDER BY start_time DESC LIMIT 1").get(at.sha) as
            | { rid: number; id: string; name: string | null }
            | undefined)
        : (db.db.prepare("SELECT rid, id, name FROM runs WHERE status = 'finished' ORDER BY start_time DESC LIMIT 1").get() as
            | { rid: number; id: string; name: string | null }
            | undefined),
    );
    if (run) runs.push({ rid: run.rid, label: `${rev}: ${labelOf(run)}` });
  }
  const seriesSpecs = specsForRuns(db, runs, 'revision').filter((s) => s.mark.type === 'line');
  const scalarSpecs = [...scalars.keys()].sort().map((k) => scalarSpec(k, scalars.get(k)!, 'revision'));
  return { title: `mlo plots: ${list.join(' vs ')}`, specs: [...seriesSpecs, ...scalarSpecs], missing };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The page: specs as inline JSON, drawn by the inline renderer below. */
export function renderHtml(data: PlotsData): string {
  // `</script>` inside the JSON would end the script element early.
  const json = JSON.stringify(data.specs).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(data.title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:18px}
.grid{display:flex;flex-wrap:wrap;gap:24px}
figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:8px}
figcaption{font-weight:600;margin-bottom:4px}
.legend span{display:inline-block;margin-right:12px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
svg text{font-size:11px;fill:#555}
.empty{color:#777}
</style>
</head>
<body>
<h1>${escapeHtml(data.title)}</h1>
<div class="grid" id="plots"></div>
<script type="application/json" id="vega-lite-specs">${json}</script>
<script>
${RENDERER}
</script>
</body>
</html>
`;
}

/** A minimal Vega-Lite subset renderer (line and bar marks) drawing SVG; no dependencies. */
const RENDERER = String.raw`(function () {
  var specs = JSON.parse(document.getElementById('vega-lite-specs').textContent);
  var root = document.getElementById('plots');
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = ['#4c78a8','#f58518','#e45756','#72b7b2','#54a24b','#eeca3b','#b279a2','#ff9da6','#9d755d','#bab0ac'];
  var W = 460, H = 280, M = { l: 56, r: 12, t: 10, b: 48 };
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v) {
    var a = Math.abs(v);
    return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(1) : String(Math.round(v * 1000) / 1000);
  }
  function ticks(lo, hi, n) {
    if (lo === hi) { lo -= 1; hi += 1; }
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
    var err = (hi - lo) / n / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
    return { lo: Math.min(lo, out[0]), hi: Math.max(hi, out[out.length - 1]), ticks: out };
  }
  function draw(spec) {
    var fig = document.createElement('figure');
    var cap = document.createElement('figcaption');
    cap.textContent = spec.title;
    fig.appendChild(cap);
    root.appendChild(fig);
    var vals = spec.data.values, enc = spec.encoding;
    if (!vals.length) { var p = document.createElement('p'); p.className = 'empty'; p.textContent = 'no data'; fig.appendChild(p); return; }
    var svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H }, fig);
    var pw = W - M.l - M.r, ph = H - M.t - M.b;
    var ys = vals.map(function (d) { return d[enc.y.field]; });
    var ymin = Math.min.apply(null, ys), ymax = Math.max.apply(null, ys);
    if (spec.mark.type === 'bar') ymin = Math.min(0, ymin), ymax = Math.max(0, ymax);
    var yt = ticks(ymin, ymax, 5);
    var Y = function (v) { return M.t + ph - (v - yt.lo) / (yt.hi - yt.lo) * ph; };
    yt.ticks.forEach(function (t) {
      el('line', { x1: M.l, x2: W - M.r, y1: Y(t), y2: Y(t), stroke: '#eee' }, svg);
      el('text', { x: M.l - 6, y: Y(t) + 4, 'text-anchor': 'end' }, svg).textContent = fmt(t);
    });
    el('line', { x1: M.l, x2: M.l, y1: M.t, y2: M.t + ph, stroke: '#999' }, svg);
    el('line', { x1: M.l, x2: W - M.r, y1: M.t + ph, y2: M.t + ph, stroke: '#999' }, svg);
    el('text', { x: M.l + pw / 2, y: H - 6, 'text-anchor': 'middle' }, svg).textContent = enc.x.title;
    if (spec.mark.type === 'bar') {
      var cats = [];
      vals.forEach(function (d) { if (cats.indexOf(d[enc.x.field]) < 0) cats.push(d[enc.x.field]); });
      var bw = pw / cats.length;
      vals.forEach(function (d) {
        var i = cats.indexOf(d[enc.x.field]), v = d[enc.y.field];
        var y0 = Y(Math.max(0, v)), y1 = Y(Math.min(0, v));
        var r = el('rect', { x: M.l + i * bw + bw * 0.15, y: y0, width: bw * 0.7, height: Math.max(1, y1 - y0), fill: COLORS[i % COLORS.length] }, svg);
        el('title', {}, r).textContent = d[enc.x.field] + ': ' + v;
      });
      cats.forEach(function (c, i) {
        var label = String(c).length > 18 ? String(c).slice(0, 17) + '\u2026' : String(c);
        el('text', { x: M.l + i * bw + bw / 2, y: M.t + ph + 14, 'text-anchor': 'middle' }, svg).textContent = label;
      });
      return;
    }
    var xs = vals.map(function (d) { return d[enc.x.field]; });
    var xt = ticks(Math.min.apply(null, xs), Math.max.apply(null, xs), 6);
    var X = function (v) { return M.l + (v - xt.lo) / (xt.hi - xt.lo) * pw; };
    xt.ticks.forEach(function (t) { el('text', { x: X(t), y: M.t + ph + 14, 'text-anchor': 'middle' }, svg).textContent = fmt(t); });
    var groups = {}, order = [];
    vals.forEach(function (d) {
      var g = enc.color ? d[enc.color.field] : '';
      if (!groups[g]) { groups[g] = []; order.push(g); }
      groups[g].push(d);
    });
    var legend = document.createElement('div');
    legend.className = 'legend';
    order.forEach(function (g, i) {
      var c = COLORS[i % COLORS.length];
      var pts = groups[g].slice().sort(function (a, b) { return a[enc.x.field] - b[enc.x.field]; });
      el('polyline', { fill: 'none', stroke: c, 'stroke-width': 1.5, points: pts.map(function (d) { return X(d[enc.x.field]).toFixed(1) + ',' + Y(d[enc.y.field]).toFixed(1); }).join(' ') }, svg);
      if (spec.mark.point) pts.forEach(function (d) {
        var dot = el('circle', { cx: X(d[enc.x.field]), cy: Y(d[enc.y.field]), r: 2.5, fill: c }, svg);
        el('title', {}, dot).textContent = g + ' step ' + d[enc.x.field] + ': ' + d[enc.y.field];
      });
      var s = document.createElement('span');
      s.innerHTML = '<i style="background:' + c + '"></i>';
      s.appendChild(document.createTextNode(String(g)));
      legend.appendChild(s);
    });
    fig.appendChild(legend);
  }
  if (!specs.length) { var p = document.createElement('p'); p.className = 'empty'; p.textContent = 'Nothing to plot yet: no step series or numeric metrics.'; root.appendChild(p); }
  specs.forEach(draw);
})();`;
