/**
 * The stage graph: stage B depends on stage A when one of B's deps is, contains or lies inside one of
 * A's outs. Pure functions over resolved stages: build (a cycle is an error naming it), order, select.
 */
import { MloError } from '../../base/errors.js';
import { JOIN } from './names.js';
import type { Pipeline, Stage } from './load.js';

export interface Graph {
  pipeline: Pipeline;
  /** name -> names of the stages it reads from. */
  upstream: Map<string, Set<string>>;
  downstream: Map<string, Set<string>>;
  /** Root-relative out path -> the stage that writes it. */
  producers: Map<string, Stage>;
}

export function buildGraph(pipeline: Pipeline): Graph {
  const producers = new Map<string, Stage>();
  for (const s of pipeline.stages) for (const o of s.outs) producers.set(o.path, s);
  // Out paths sorted, to find the outs inside a directory dep by binary search instead of a full scan.
  const sortedOuts = [...producers.keys()].sort();
  const upstream = new Map<string, Set<string>>();
  const downstream = new Map<string, Set<string>>();
  for (const s of pipeline.stages) {
    upstream.set(s.name, new Set());
    downstream.set(s.name, new Set());
  }
  for (const s of pipeline.stages) {
    for (const dep of s.deps) {
      for (const producer of producersOf(dep.path, producers, sortedOuts)) {
        if (producer === s) continue;
        upstream.get(s.name)!.add(producer.name);
        downstream.get(producer.name)!.add(s.name);
      }
    }
  }
  const graph = { pipeline, upstream, downstream, producers };
  checkAcyclic(graph);
  return graph;
}

/** The stages whose outs are `path`, contain it, or lie inside it. */
export function producersOf(path: string, producers: Map<string, Stage>, sortedOuts: string[]): Stage[] {
  const found = new Set<Stage>();
  const exact = producers.get(path);
  if (exact) found.add(exact);
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const p = producers.get(path.slice(0, i));
    if (p) found.add(p);
  }
  const prefix = `${path}/`;
  let lo = 0;
  let hi = sortedOuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sortedOuts[mid] < prefix) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < sortedOuts.length && sortedOuts[i].startsWith(prefix); i++) found.add(producers.get(sortedOuts[i])!);
  return [...found];
}

function checkAcyclic(graph: Graph): void {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 1);
    stack.push(name);
    for (const next of graph.downstream.get(name)!) {
      const st = state.get(next);
      if (st === 1) {
        const cycle = [...stack.slice(stack.indexOf(next)), next];
        const first = graph.pipeline.byName.get(next)!;
        throw new MloError('MLO_CYCLE', `${graph.pipeline.where(first.at)}: the stages form a cycle: ${cycle.join(' -> ')}`, {
          hint: 'a stage cannot depend, directly or through others, on its own outputs',
          meta: { cycle },
        });
      }
      if (st === undefined) visit(next);
    }
    stack.pop();
    state.set(name, 2);
  };
  for (const s of graph.pipeline.stages) if (!state.has(s.name)) visit(s.name);
}

/** Topological order (Kahn), ties broken by the order of mlo.yaml, restricted to `names` when given. */
export function topoOrder(graph: Graph, names?: Set<string>): string[] {
  const chosen = graph.pipeline.stages.filter((s) => !names || names.has(s.name));
  const order: string[] = [];
  const done = new Set<string>();
  // Repeated passes in file order keep the result stable; fine for thousands of stages.
  let progressed = true;
  while (order.length < chosen.length && progressed) {
    progressed = false;
    for (const s of chosen) {
      if (done.has(s.name)) continue;
      const ready = [...graph.upstream.get(s.name)!].every((u) => done.has(u) || (names !== undefined && !names.has(u)));
      if (ready) {
        done.add(s.name);
        order.push(s.name);
        progressed = true;
      }
    }
  }
  return order;
}

export interface SelectOptions {
  /** Only the named stages, not their upstream. */
  singleItem?: boolean;
  /** The named stages and everything downstream of them. */
  downstream?: boolean;
}

/** Stage names a target refers to: a stage, or a foreach/matrix group by its base name. */
export function resolveStageTargets(pipeline: Pipeline, targets: string[]): string[] {
  const names: string[] = [];
  for (const t of targets) {
    if (pipeline.byName.has(t)) {
      names.push(t);
      continue;
    }
    const group = pipeline.stages.filter((s) => s.name.startsWith(`${t}${JOIN}`)).map((s) => s.name);
    if (group.length) {
      names.push(...group);
      continue;
    }
    const known = pipeline.stages.map((s) => s.name);
    throw new MloError('MLO_UNKNOWN_STAGE', `no stage named '${t}' in mlo.yaml`, {
      hint: known.length ? `stages: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}` : 'mlo.yaml defines no stages yet',
    });
  }
  return [...new Set(names)];
}

/** The stages to consider for `targets` (all when empty), in topological order. */
export function selectStages(graph: Graph, targets: string[], options: SelectOptions = {}): string[] {
  if (targets.length === 0) return topoOrder(graph);
  const roots = resolveStageTargets(graph.pipeline, targets);
  const chosen = new Set<string>(roots);
  if (!options.singleItem) {
    const edges = options.downstream ? graph.downstream : graph.upstream;
    const queue = [...roots];
    while (queue.length) {
      for (const n of edges.get(queue.pop()!)!) {
        if (!chosen.has(n)) {
          chosen.add(n);
          queue.push(n);
        }
      }
    }
  }
  return topoOrder(graph, chosen);
}

export interface DagJson {
  nodes: { name: string; cmd: string | string[]; deps: string[]; outs: string[]; frozen: boolean }[];
  edges: { from: string; to: string }[];
}

export function dagJson(graph: Graph, names: string[]): DagJson {
  const set = new Set(names);
  const stages = names.map((n) => graph.pipeline.byName.get(n)!);
  return {
    nodes: stages.map((s) => ({ name: s.name, cmd: s.cmd, deps: s.deps.map((d) => d.path), outs: s.outs.map((o) => o.path), frozen: s.frozen })),
    edges: stages.flatMap((s) => [...graph.downstream.get(s.name)!].filter((d) => set.has(d)).map((d) => ({ from: s.name, to: d }))),
  };
}

export function toMermaid(dag: DagJson): string[] {
  const id = new Map(dag.nodes.map((n, i) => [n.name, `s${i}`]));
  return [
    'flowchart TD',
    ...dag.nodes.map((n) => `  ${id.get(n.name)}["${n.name.replace(/"/g, '#quot;')}"]`),
    ...dag.edges.map((e) => `  ${id.get(e.from)} --> ${id.get(e.to)}`),
  ];
}

export function toDot(dag: DagJson): string[] {
  const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return ['strict digraph {', ...dag.nodes.map((n) => `  ${q(n.name)};`), ...dag.edges.map((e) => `  ${q(e.from)} -> ${q(e.to)};`), '}'];
}

/** Plain text: each stage with the stages it reads from, in run order. */
export function toText(dag: DagJson): string[] {
  const ups = new Map<string, string[]>(dag.nodes.map((n) => [n.name, []]));
  for (const e of dag.edges) ups.get(e.to)!.push(e.from);
  return dag.nodes.map((n) => {
    const u = ups.get(n.name)!;
    return u.length ? `${n.name}  <- ${u.join(', ')}` : n.name;
  });
}
