/**
 * The pipeline and data page's document: the stage graph (`mlo dag --json`), each stage's state and
 * the reasons it would run (the stages of `mlo status --json`), and the tracked paths with their
 * status and whether the local cache holds them (the entries of `mlo status --json`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isMloError } from '../../base/errors.js';
import { buildGraph, dagJson, selectStages, type DagJson } from '../pipeline/dag.js';
import { loadPipeline } from '../pipeline/load.js';
import { pipelineStatus, type StageStatusEntry } from '../pipeline/plan.js';
import { statusTargets, type StatusEntry } from '../data/status.js';
import type { Repo } from '../repo/repo.js';
import { PIPELINE_FILE } from '../repo/names.js';

export interface PipelineDocument {
  dag: DagJson;
  stages: StageStatusEntry[];
  entries: StatusEntry[];
  /** Set when mlo.yaml cannot be read: the data section is still shown. */
  pipelineError?: { code: string; message: string; hint?: string };
}

export async function pipelineDocument(repo: Repo): Promise<PipelineDocument> {
  const entries = statusTargets(repo, { cwd: repo.root });
  if (!existsSync(join(repo.root, PIPELINE_FILE))) return { dag: { nodes: [], edges: [] }, stages: [], entries };
  try {
    const graph = buildGraph(loadPipeline(repo));
    return { dag: dagJson(graph, selectStages(graph, [])), stages: pipelineStatus(repo), entries };
  } catch (err) {
    if (!isMloError(err)) throw err;
    return { dag: { nodes: [], edges: [] }, stages: [], entries, pipelineError: { code: err.code, message: err.message, hint: err.hint } };
  }
}
