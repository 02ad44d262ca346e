/**
 * The pipeline and mlo.lock as `mlo run` needs them: from the parse cache while mlo.yaml, the params
 * files and mlo.lock are unchanged, so a no-op run loads neither yaml nor zod (~25 ms of module loading
 * between them); the parsers in load.ts and lockfile.ts are imported only on a cache miss.
 */
import type { Repo } from '../repo/repo.js';
import type { Pipeline, Stage } from './stage.js';
import type { LockDoc } from '../data/lockfile.js';
import { assemblePipeline } from './assemble.js';
import { LOCK_FILE, PIPELINE_FILE } from './names.js';
import { ParamsReader } from './params.js';
import { readCached } from '../repo/parsecache.js';

export async function openPipeline(repo: Repo): Promise<Pipeline> {
  const params = new ParamsReader(repo.root, repo);
  const stages = readCached<Stage[]>(repo, PIPELINE_FILE);
  if (stages) return assemblePipeline(repo, stages, params);
  return (await import('./load.js')).loadPipeline(repo, params);
}

export async function openLock(repo: Repo): Promise<LockDoc> {
  return readCached<LockDoc>(repo, LOCK_FILE) ?? (await import('../data/lockfile.js')).readLock(repo);
}
