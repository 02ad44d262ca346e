/**
 * `mlo plots show | diff`: step series and metrics across runs or revisions (and, for diff, the plot
 * files mlo.yaml declares), as Vega-Lite specs in one self-contained HTML file drawn by vega-embed, the
 * library `mlo ui` draws declared plots with. There is no network at view time (and no CDN): the page
 * carries the libraries inline.
 */
import type { Repo } from '../repo/repo.js';
import type { TrackingDb } from './db.js';
import { filesAt, WORKSPACE, type MissingFile } from './revisions.js';
import type { Scalar } from './values.js';
import { plural } from '../../base/plural.js';
import { readWebFile } from '../ui/assets.js';
import { declaredPlots } from './plotfiles.js';

export interface VegaLiteSpec {
  $schema: string;
  title: string;
  mark: { type: 'line' | 'bar'; point?: boolean; clip?: boolean };
  data: { values: Record<string, string | number>[] };
  encoding: {
    x: { field: string; type: 'quantitative' | 'nominal'; title: string };
    y: { field: string; type: 'quantitative'; title: string; scale?: { zero: false; domain?: [number, number] } };
    color?: { field: string; type: 'nominal'; title: string };
  };
}

export interface PlotsData {
  title: string;
  /** Specs mlo builds from runs and metrics, then those of the plot files mlo.yaml declares. */
  specs: (VegaLiteSpec | Record<string, unknown>)[];
  /** plots diff: metrics files a revision records but that could not be read (the plot lacks them), or revisions with none. */
  missing?: (MissingFile & { rev: string })[];
  /** Declared plot files a revision lacks or that cannot be drawn. */
  problems?: string[];
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
      y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } },
      color: { field: 'run', type: 'nominal', title: 'run' },
    },
  };
}

/**
 * The y domain of a bar chart that fits its values with a margin below the lowest, so 0.9732 and 0.9730
 * are told apart (bars from zero would look equal) and the lowest bar still has a height.
 */
export function barDomain(values: number[]): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = hi > lo ? (hi - lo) * 0.25 : Math.abs(hi) * 0.01 || 1;
  return [lo - pad, hi + pad / 5];
}

function scalarSpec(metric: string, values: { label: string; value: number }[], xTitle: string): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    title: metric,
    mark: { type: 'bar', clip: true },
    data: { values },
    encoding: {
      x: { field: 'label', type: 'nominal', title: xTitle },
      y: { field: 'value', type: 'quantitative', title: metric, scale: { zero: false, domain: barDomain(values.map((v) => v.value)) } },
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
  const declared = await declaredPlots(repo, list);
  // A recorded file that could not be read is reported once, in `missing`, not again as a problem.
  const problems = declared.plots.flatMap((p) => p.problems ?? []).filter((pr) => !declared.missing.some((m) => pr.startsWith(m.message)));
  return {
    title: `mlo plots: ${list.join(' vs ')}`,
    specs: [...seriesSpecs, ...scalarSpecs, ...declared.plots.flatMap((p) => (p.spec ? [p.spec] : []))],
    missing: [...missing, ...declared.missing],
    ...(problems.length ? { problems } : {}),
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The chart libraries the page carries inline, in load order (vega-lite and vega-embed find vega as a global). */
const LIBRARIES = ['vendor/vega.min.js', 'vendor/vega-lite.min.js', 'vendor/vega-embed.min.js'];

/**
 * The page: specs as inline JSON, drawn by vega-embed, whose builds (~830 KB, the same files `mlo ui`
 * serves) are inlined so the file opens with no network.
 */
export function renderHtml(data: PlotsData): string {
  // `</script>` inside the JSON (or a library) would end the script element early.
  const json = JSON.stringify(data.specs).replace(/</g, '\\u003c');
  const libraries = LIBRARIES.map(
    (f) =>
      `<script>\n${readWebFile(f)
        .toString('utf8')
        .replace(/<\/script/gi, '<\\/script')}\n</script>`,
  ).join('\n');
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
.empty{color:#777}
</style>
</head>
<body>
<h1>${escapeHtml(data.title)}</h1>
<div class="grid" id="plots"></div>
<script type="application/json" id="vega-lite-specs">${json}</script>
${libraries}
<script>
${DRAW}
</script>
</body>
</html>
`;
}

/** One figure per spec, each drawn by vega-embed as SVG. */
const DRAW = `(function () {
  var specs = JSON.parse(document.getElementById('vega-lite-specs').textContent);
  var root = document.getElementById('plots');
  if (!specs.length) { var p = document.createElement('p'); p.className = 'empty'; p.textContent = 'Nothing to plot yet: no step series, numeric metrics or declared plots.'; root.appendChild(p); }
  specs.forEach(function (spec) {
    var fig = document.createElement('figure');
    var target = document.createElement('div');
    fig.appendChild(target);
    root.appendChild(fig);
    vegaEmbed(target, spec, { actions: false, renderer: 'svg' }).catch(function (err) { target.textContent = spec.title + ': ' + err.message; });
  });
})();`;
