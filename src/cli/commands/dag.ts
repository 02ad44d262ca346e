import { buildGraph, dagJson, selectStages, toDot, toMermaid, toText } from '../../core/pipeline/dag.js';
import { loadPipeline } from '../../core/pipeline/load.js';
import { commandRepo } from '../repo.js';
import type { ActionContext } from '../action.js';

export function dag({ out, flags, opts }: ActionContext<{ mermaid?: boolean; dot?: boolean }>, targets: string[]): void {
  const repo = commandRepo(flags);
  const graph = buildGraph(loadPipeline(repo));
  const doc = dagJson(graph, selectStages(graph, targets));
  out.result(doc, () => {
    if (opts.mermaid) return toMermaid(doc);
    if (opts.dot) return toDot(doc);
    return doc.nodes.length ? toText(doc) : 'mlo.yaml defines no stages.';
  });
}
