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
import { allTracked } from '../data/tracked.js';
import { cloudStatus, type CloudStatusResult } from '../sync/cloud-status.js';
import { openRepo, type Repo } from '../repo/repo.js';
import { PIPELINE_FILE } from '../repo/names.js';

export interface PipelineDocument {
  dag: DagJson;
  stages: StageStatusEntry[];
  entries: StatusEntry[];
  /** Size in bytes (and file count of a directory) of each tracked path, as its pointer or mlo.lock records it. */
  sizes: Record<string, { size: number; files?: number }>;
  /** Set when mlo.yaml cannot be read: the data section is still shown. */
  pipelineError?: { code: string; message: string; hint?: string };
}

export async function pipelineDocument(repo: Repo): Promise<PipelineDocument> {
  const entries = statusTargets(repo, { cwd: repo.root });
  const sizes: PipelineDocument['sizes'] = {};
  for (const t of allTracked(repo)) sizes[t.path] = t.files === undefined ? { size: t.size } : { size: t.size, files: t.files };
  if (!existsSync(join(repo.root, PIPELINE_FILE))) return { dag: { nodes: [], edges: [] }, stages: [], entries, sizes };
  try {
    const graph = buildGraph(loadPipeline(repo));
    return { dag: dagJson(graph, selectStages(graph, [])), stages: pipelineStatus(repo), entries, sizes };
  } catch (err) {
    if (!isMloError(err)) throw err;
    return { dag: { nodes: [], edges: [] }, stages: [], entries, sizes, pipelineError: { code: err.code, message: err.message, hint: err.hint } };
  }
}

/**
 * Which tracked objects the default remote holds (`mlo status --cloud --json`). Asked only when the
 * page's button asks: it talks to the remote, and, as `status --cloud` does, takes the repository lock
 * and fetches directory manifests the local cache lacks (verified) into the cache.
 */
export function remoteDocument(repo: Repo, remote?: string): Promise<CloudStatusResult> {
  // Opened again: a remote added since the UI started is in the config now.
  return cloudStatus(openRepo({ cwd: repo.root }), { cwd: repo.root, remote });
}
