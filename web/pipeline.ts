/**
 * Pipeline and data (#/pipeline): the stage graph drawn in layers (a stage sits one layer right of
 * its deepest upstream stage), each stage coloured by its state with the reasons it would run, and the
 * tracked paths with their status and whether the local cache holds their content.
 */
import { api } from './api.js';
import { empty, h, table } from './dom.js';

interface Doc {
  dag: { nodes: { name: string; cmd: string | string[]; deps: string[]; outs: string[]; frozen: boolean }[]; edges: { from: string; to: string }[] };
  stages: { name: string; changed: boolean; frozen: boolean; action: string; reasons: { kind: string; message: string }[] }[];
  entries: { path: string; kind: string; status: string; inCache: boolean; missingObjects: number; stage?: string }[];
  pipelineError?: { code: string; message: string; hint?: string };
}

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag: string, attrs: Record<string, string | number>, parent: Element): SVGElement {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent.append(e);
  return e;
}

/** A reason of `mlo status --json` ({kind, change, path, key, message}): its message says it all. */
const reasonText = (r: { message: string }) => r.message;

function graph(doc: Doc, state: Map<string, Doc['stages'][number]>): Element {
  const layer = new Map<string, number>();
  const ups = new Map<string, string[]>(doc.dag.nodes.map((n) => [n.name, []]));
  for (const e of doc.dag.edges) ups.get(e.to)?.push(e.from);
  const depth = (n: string, seen = new Set<string>()): number => {
    if (layer.has(n)) return layer.get(n)!;
    if (seen.has(n)) return 0;
    seen.add(n);
    const d = Math.max(-1, ...(ups.get(n) ?? []).map((u) => depth(u, seen))) + 1;
    layer.set(n, d);
    return d;
  };
  for (const n of doc.dag.nodes) depth(n.name);
  const rows = new Map<number, number>();
  const pos = new Map<string, { x: number; y: number }>();
  const W = 170;
  const H = 44;
  for (const n of doc.dag.nodes) {
    const l = layer.get(n.name)!;
    const r = rows.get(l) ?? 0;
    rows.set(l, r + 1);
    pos.set(n.name, { x: 10 + l * (W + 60), y: 10 + r * (H + 24) });
  }
  const width = Math.max(...[...pos.values()].map((p) => p.x)) + W + 20;
  const height = Math.max(...[...pos.values()].map((p) => p.y)) + H + 20;
  const root = document.createElementNS(SVG, 'svg');
  root.setAttribute('width', String(width));
  root.setAttribute('height', String(height));
  root.setAttribute('data-testid', 'stage-graph');
  for (const e of doc.dag.edges) {
    const a = pos.get(e.from)!;
    const b = pos.get(e.to)!;
    svg('path', { d: `M${a.x + W},${a.y + H / 2} C${a.x + W + 30},${a.y + H / 2} ${b.x - 30},${b.y + H / 2} ${b.x},${b.y + H / 2}`, class: 'edge' }, root);
  }
  for (const n of doc.dag.nodes) {
    const p = pos.get(n.name)!;
    const s = state.get(n.name);
    const cls = n.frozen ? 'frozen' : s?.changed ? 'changed' : 'fresh';
    const g = svg('g', { class: `stage ${cls}`, 'data-stage': n.name }, root);
    svg('rect', { x: p.x, y: p.y, width: W, height: H, rx: 6 }, g);
    svg('text', { x: p.x + 10, y: p.y + 18 }, g).textContent = n.name;
    svg('text', { x: p.x + 10, y: p.y + 34, class: 'state' }, g).textContent = n.frozen ? 'frozen' : s?.changed ? `changed: ${s.action}` : 'up to date';
  }
  return root;
}

export async function pipelinePage(root: HTMLElement): Promise<undefined> {
  const doc = await api<Doc>('/api/pipeline');
  const state = new Map(doc.stages.map((s) => [s.name, s]));
  root.append(h('h2', {}, 'Pipeline'));
  if (doc.pipelineError) root.append(h('p', { class: 'error' }, `${doc.pipelineError.message}${doc.pipelineError.hint ? ` (${doc.pipelineError.hint})` : ''}`));
  if (!doc.dag.nodes.length) root.append(empty('mlo.yaml defines no stages.'));
  else {
    root.append(
      h('div', { class: 'graph' }, graph(doc, state)),
      table(
        ['stage', 'state', 'why', 'deps', 'outs'],
        doc.dag.nodes.map((n) => {
          const s = state.get(n.name);
          return [
            n.name,
            n.frozen ? 'frozen' : s?.changed ? `changed (${s.action})` : 'up to date',
            (s?.reasons ?? []).map(reasonText).join('; '),
            n.deps.join(', '),
            n.outs.join(', '),
          ];
        }),
        { 'data-testid': 'stages-table' },
      ),
    );
  }
  root.append(h('h2', {}, 'Tracked data'));
  root.append(
    doc.entries.length
      ? table(
          ['path', 'kind', 'stage', 'workspace', 'local cache'],
          doc.entries.map((e) => [
            e.path,
            e.kind,
            e.stage ?? '',
            e.status,
            e.inCache ? 'present' : `missing ${e.missingObjects} object${e.missingObjects === 1 ? '' : 's'}`,
          ]),
          { 'data-testid': 'data-table' },
        )
      : empty('Nothing is tracked yet (mlo add, or a stage out).'),
  );
  return undefined;
}
