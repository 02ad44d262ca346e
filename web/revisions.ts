/**
 * Revisions (#/revisions): metrics and params of the workspace and every local branch (what `metrics
 * show -a` reads), and the plot files mlo.yaml declares drawn by their template, one revision's data
 * or several overlaid.
 */
import { api } from './api.js';
import { empty, fmt, h, short } from './dom.js';
import { drawSpec } from './vega.js';

interface FilesAt {
  rev: string;
  sha: string | null;
  files: Record<string, Record<string, unknown>>;
  error?: { code: string; message: string; hint?: string };
}

interface RevisionsDoc {
  metrics: { revisions: FilesAt[] };
  params: { revisions: FilesAt[] };
}

interface PlotsDoc {
  revs: string[];
  plots: { file: string; template: string; rows: number; spec?: unknown; problems?: string[] }[];
}

function acrossRevisions(title: string, revs: FilesAt[], testid: string): HTMLElement {
  const keys = [...new Set(revs.flatMap((r) => Object.entries(r.files).flatMap(([file, kv]) => Object.keys(kv).map((k) => `${file}\u0000${k}`))))].sort();
  const head = h(
    'tr',
    {},
    h('th', {}, 'file'),
    h('th', {}, 'key'),
    ...revs.map((r) => h('th', { title: r.sha ?? 'working tree' }, r.sha ? `${r.rev} (${short(r.sha)})` : r.rev)),
  );
  const rows = keys.map((fk) => {
    const [file, key] = fk.split('\u0000');
    const values = revs.map((r) => r.files[file]?.[key]);
    const differs = values.some((v) => fmt(v) !== fmt(values[0]));
    return h(
      'tr',
      { class: differs ? 'differs' : '' },
      h('td', {}, file),
      h('th', {}, key),
      ...values.map((v) => h('td', {}, v === undefined ? '\u2014' : fmt(v))),
    );
  });
  const errors = revs.filter((r) => r.error).map((r) => h('p', { class: 'error' }, `${r.rev}: ${r.error!.message}`));
  return h(
    'section',
    {},
    h('h3', {}, title),
    ...errors,
    keys.length
      ? h('table', { class: 'compare', 'data-testid': testid }, h('thead', {}, head), h('tbody', {}, ...rows))
      : empty(`No ${title.toLowerCase()} files at any revision.`),
  );
}

export async function revisionsPage(root: HTMLElement): Promise<undefined> {
  const doc = await api<RevisionsDoc>('/api/revisions');
  const revs = doc.metrics.revisions.map((r) => r.rev);
  const picks = h('div', { class: 'toolbar' }, 'Plots of ');
  const boxes = revs.map((rev, i) => {
    const box = h('input', { type: 'checkbox', value: rev, checked: i === 0 });
    picks.append(h('label', {}, box, ` ${rev}`));
    return box;
  });
  const plotsBox = h('div', { class: 'grid', 'data-testid': 'declared-plots' });
  root.append(
    acrossRevisions('Metrics', doc.metrics.revisions, 'rev-metrics'),
    acrossRevisions('Params', doc.params.revisions, 'rev-params'),
    h('section', {}, h('h3', {}, 'Declared plots'), picks, plotsBox),
  );

  const drawPlots = async () => {
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    plotsBox.replaceChildren();
    if (!chosen.length) {
      plotsBox.append(empty('Choose a revision.'));
      return;
    }
    const plots = await api<PlotsDoc>('/api/plots', { rev: chosen });
    if (!plots.plots.length) plotsBox.append(empty('mlo.yaml declares no plots: files (stages: NAME: plots: [file.csv]).'));
    await Promise.all(
      plots.plots.map(async (p) => {
        const fig = h('figure', { 'data-file': p.file, 'data-template': p.template }, h('figcaption', {}, `${p.file} (${p.template})`));
        plotsBox.append(fig);
        if (!p.spec) {
          fig.append(empty((p.problems ?? ['nothing to draw']).join('; ')));
          return;
        }
        const target = h('div', { class: 'vega' });
        fig.append(target);
        if (p.problems) fig.append(h('p', { class: 'muted' }, p.problems.join('; ')));
        await drawSpec(target, p.spec);
      }),
    );
  };
  for (const b of boxes) b.addEventListener('change', () => void drawPlots());
  await drawPlots();
  return undefined;
}
