/**
 * The drift report as one self-contained HTML file: inline CSS and SVG, no scripts, no network, so it
 * can be attached to a CI run or opened from disk.
 */
import { writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { explainFsError } from '../../base/errors.js';
import { fmt, type DriftReport, type FeatureDrift, type Histogram } from './drift.js';

export function writeDriftHtml(report: DriftReport, file: string, cwd: string): string {
  const path = isAbsolute(file) ? file : resolve(cwd, file);
  try {
    writeFileSync(path, renderDriftHtml(report));
  } catch (err) {
    explainFsError(err, file);
  }
  return path;
}

const esc = (s: string | number): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

export function renderDriftHtml(r: DriftReport, generated = new Date()): string {
  const s = r.settings;
  const verdict = r.drift
    ? `<span class="bad">Drift detected</span>: ${r.drifted} of ${r.compared} columns drifted`
    : `<span class="ok">No drift</span>: ${r.drifted} of ${r.compared} columns drifted`;
  const rows = r.features.map((f) => featureRow(f)).join('\n');
  const drifted = r.features.filter((f) => f.drifted);
  const charts = drifted.length
    ? drifted
        .map(
          (f) =>
            `<section><h3>${esc(f.column)} <small>${f.type}${f.role === 'prediction' ? ', prediction' : ''}: ${esc(f.reasons.join('; '))}</small></h3>${histogramSvg(f.histogram, f.type)}</section>`,
        )
        .join('\n')
    : '<p>No column drifted, so there are no histograms to show.</p>';
  const notes = r.notes.length ? `<ul class="muted">${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
  const arms = r.arms
    ? `<h2>By model version</h2>
<p class="muted">Each version's requests in the serve log against the same reference.</p>
<table>
<thead><tr><th>arm</th><th>rows</th><th>compared</th><th>drifted</th><th class="l">drifted columns</th></tr></thead>
<tbody>
${r.arms
  .map(
    (a) =>
      `<tr${a.drift ? ' class="drift"' : ''}><td><code>${esc(`${a.model ?? '-'}@${a.version ?? '-'}`)}</code></td><td>${a.rows}</td><td>${a.compared}</td><td>${a.drifted}</td><td class="l">${esc(
        a.features
          .filter((f) => f.drifted)
          .map((f) => f.column)
          .join(', ') || 'none',
      )}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>`
    : '';
  const skipped = r.skipped.length
    ? `<h2>Not compared</h2><ul>${r.skipped.map((k) => `<li><code>${esc(k.column)}</code>: ${esc(k.reason)}</li>`).join('')}</ul>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mlo drift report: ${esc(r.current.file)} vs ${esc(r.reference.file)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1f2328}
h1{font-size:1.4rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin-top:2rem} h3{font-size:1rem;margin:.2rem 0} h3 small{font-weight:normal;color:#59636e}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums} th,td{padding:.3rem .6rem;border-bottom:1px solid #d1d9e0;text-align:right} th:first-child,td:first-child,td.l,th.l{text-align:left}
tr.drift td{background:#fff1f0} .bad{color:#cf222e;font-weight:600} .ok{color:#1a7f37;font-weight:600} .muted{color:#59636e}
section{margin:1.2rem 0;padding:.6rem;border:1px solid #d1d9e0;border-radius:6px} .legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:-1px}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
</style>
</head>
<body>
<h1>Drift report</h1>
<p class="muted">Reference <code>${esc(r.reference.file)}</code> (${r.reference.rows} rows, ${r.reference.format}) · current <code>${esc(r.current.file)}</code> (${r.current.rows} rows, ${r.current.format}) · generated ${esc(generated.toISOString())} by mlo</p>
<p>${verdict}${r.predictionDrift ? ' · <span class="bad">prediction drift</span>' : ''}.</p>
<p>${r.compared} ${r.compared === 1 ? 'column' : 'columns'} compared, ${r.skipped.length} not compared.</p>
${notes}
<p class="muted">Tests: ${esc(s.tests.join(', '))}. Drift when PSI ≥ ${s.psiThreshold} (${s.psiBins} quantile bins of the reference), KS p &lt; ${s.ksP}, chi-square p &lt; ${s.chi2P}, Jensen-Shannon distance ≥ ${s.jsThreshold}${s.driftShare === null ? '; the data set drifts when any column drifts' : `; the data set drifts when at least ${s.driftShare * 100}% of the columns drift`}.</p>
<table>
<thead><tr><th>column</th><th class="l">type</th><th>PSI</th><th>KS D</th><th>KS p</th><th>χ²</th><th>χ² p</th><th>JS</th><th class="l">drift</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
${skipped}
${arms}
<h2>Drifted columns</h2>
<p class="legend"><span style="background:#8c959f"></span>reference<span style="background:#d1242f"></span>current <span class="muted">(share of rows per bin)</span></p>
${charts}
</body>
</html>
`;
}

function featureRow(f: FeatureDrift): string {
  const n = (v: number | undefined) => (v === undefined ? '<span class="muted">–</span>' : esc(fmt(v)));
  return `<tr${f.drifted ? ' class="drift"' : ''}><td><code>${esc(f.column)}</code></td><td class="l">${f.type}${f.role === 'prediction' ? ' (prediction)' : ''}</td><td>${n(f.psi)}</td><td>${n(f.ks?.statistic)}</td><td>${n(f.ks?.pvalue)}</td><td>${n(f.chi2?.statistic)}</td><td>${n(f.chi2?.pvalue)}</td><td>${n(f.js)}</td><td class="l">${f.drifted ? '<span class="bad">yes</span>' : 'no'}</td></tr>`;
}

/** Side-by-side bars of the reference and current shares per bin (or category). */
export function histogramSvg(h: Histogram, type: FeatureDrift['type']): string {
  const bins = h.reference.length;
  if (bins === 0) return '<p class="muted">no finite values to plot</p>';
  const W = 1000;
  const H = 220;
  const left = 50;
  const bottom = 40;
  const top = 10;
  const plotW = W - left - 10;
  const plotH = H - top - bottom;
  const totalR = h.reference.reduce((a, b) => a + b, 0) || 1;
  const totalC = h.current.reduce((a, b) => a + b, 0) || 1;
  const shares = h.reference.map((c, i) => [c / totalR, h.current[i] / totalC] as const);
  const max = Math.max(...shares.flat(), 1e-9);
  const slot = plotW / bins;
  const barW = Math.max(slot * 0.4, 1);
  const parts: string[] = [];
  parts.push(`<line x1="${left}" y1="${top + plotH}" x2="${W - 10}" y2="${top + plotH}" stroke="#8c959f"/>`);
  for (const frac of [0.5, 1]) {
    const y = top + plotH - plotH * frac;
    parts.push(
      `<line x1="${left}" y1="${y}" x2="${W - 10}" y2="${y}" stroke="#eaeef2"/><text x="${left - 4}" y="${y + 4}" text-anchor="end" font-size="11" fill="#59636e">${(max * frac * 100).toFixed(1)}%</text>`,
    );
  }
  shares.forEach(([r, c], i) => {
    const x = left + i * slot + slot * 0.1;
    const hr = (r / max) * plotH;
    const hc = (c / max) * plotH;
    const label = type === 'numeric' && h.edges ? `[${fmt(h.edges[i])}, ${fmt(h.edges[i + 1])})` : (h.labels?.[i] ?? '');
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${(top + plotH - hr).toFixed(1)}" width="${barW.toFixed(1)}" height="${hr.toFixed(1)}" fill="#8c959f"><title>${esc(label)} reference ${(r * 100).toFixed(2)}%</title></rect>`,
      `<rect x="${(x + barW).toFixed(1)}" y="${(top + plotH - hc).toFixed(1)}" width="${barW.toFixed(1)}" height="${hc.toFixed(1)}" fill="#d1242f"><title>${esc(label)} current ${(c * 100).toFixed(2)}%</title></rect>`,
    );
  });
  const ticks: string[] = [];
  if (type === 'numeric' && h.edges) {
    for (let i = 0; i <= bins; i += Math.max(1, Math.floor(bins / 5))) {
      ticks.push(
        `<text x="${(left + i * slot).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle" font-size="11" fill="#59636e">${esc(fmt(h.edges[i]))}</text>`,
      );
    }
  } else {
    (h.labels ?? []).forEach((l, i) => {
      const text = l.length > 14 ? `${l.slice(0, 13)}…` : l;
      ticks.push(
        `<text x="${(left + i * slot + slot / 2).toFixed(1)}" y="${H - bottom + 16}" text-anchor="middle" font-size="11" fill="#59636e">${esc(text)}</text>`,
      );
    });
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img">${parts.join('')}${ticks.join('')}</svg>`;
}
