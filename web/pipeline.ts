/**
 * Pipeline and data (#/pipeline): the stage graph drawn in layers (a stage sits one layer right of
 * its deepest upstream stage), each stage coloured by its state with the reasons it would run, and the
 * tracked paths with their status and whether the local cache holds their content.
 */
import { api } from './api.js';
import { empty, h, table } from './dom.js';

interface RemoteDoc {
  remote: string;
  url: string;
  entries: { path: string; objects: number; localOnly: number; remoteOnly: number; missing: number }[];
}

function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

function onRemote(e: RemoteDoc['entries'][number] | undefined): string {
  if (!e) return '';
  if (!e.localOnly && !e.missing) return 'present';
  return [e.localOnly ? `${e.localOnly} to push` : '', e.missing ? `${e.missing} nowhere` : ''].filter(Boolean).join(', ');
}

interface Doc {
  dag: { nodes: { name: string; cmd: string | string[]; deps: string[]; outs: string[]; frozen: boolean }[]; edges: { from: string; to: string }[] };
  stages: { name: string; changed: boolean; frozen: boolean; action: string; reasons: { kind: string; message: string }[] }[];
  entries: { path: string; kind: string; status: string; inCache: boolean; missingObjects: number; stage?: string }[];
  sizes: Record<string, { size: number; files?: number }>;
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
  const check = h('button', { 'data-testid': 'check-remote' }, 'Check the remote');
  const remoteNote = h('span', { class: 'muted' });
  const dataBox = h('div');
  const drawData = (remote?: RemoteDoc) => {
    const byPath = new Map(remote?.entries.map((e) => [e.path, e]));
    dataBox.replaceChildren(
      doc.entries.length
        ? table(
            ['path', 'kind', 'size', 'stage', 'workspace', 'local cache', ...(remote ? [`remote ${remote.remote}`] : [])],
            doc.entries.map((e) => {
              const sz = doc.sizes[e.path];
              return [
                e.path,
                e.kind,
                sz ? `${bytes(sz.size)}${sz.files === undefined ? '' : ` (${sz.files} files)`}` : '',
                e.stage ?? '',
                e.status,
                e.inCache ? 'present' : `missing ${e.missingObjects} object${e.missingObjects === 1 ? '' : 's'}`,
                ...(remote ? [onRemote(byPath.get(e.path))] : []),
              ];
            }),
            { 'data-testid': 'data-table' },
          )
        : empty('Nothing is tracked yet (mlo add, or a stage out).'),
    );
  };
  check.addEventListener('click', async () => {
    check.disabled = true;
    remoteNote.textContent = 'asking the remote...';
    try {
      const remote = await api<RemoteDoc>('/api/remote');
      remoteNote.textContent = `compared with ${remote.remote} (${remote.url})`;
      drawData(remote);
    } catch (err) {
      remoteNote.textContent = `${(err as Error).message}`;
    } finally {
      check.disabled = false;
    }
  });
  root.append(h('h2', {}, 'Tracked data'), h('div', { class: 'toolbar' }, check, remoteNote), dataBox);
  drawData();
  return undefined;
}
