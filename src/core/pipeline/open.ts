/**
 * The pipeline and mlo.lock as `mlo run` needs them: from the parse cache while mlo.yaml, the params
 * files and mlo.lock are unchanged, so a no-op run loads neither yaml nor zod (~25 ms of module loading
 * between them); the parsers in load.ts and lockfile.ts are imported only on a cache miss.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Document, LineCounter } from 'yaml';
import { yaml } from '../../base/lazy-yaml.js';
import type { Repo } from '../repo/repo.js';
import { lineOf } from '../../base/yamlfile.js';
import type { Pipeline, Stage } from './load.js';
import type { LockDoc } from '../data/lockfile.js';
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

/** A Pipeline over resolved stages. Line numbers only serve error messages: mlo.yaml is parsed again for them. */
export function assemblePipeline(repo: Repo, stages: Stage[], params: ParamsReader): Pipeline {
  let parsed: { doc: Document; lines: LineCounter } | undefined;
  const where = (at: (string | number)[]) => {
    if (!parsed) {
      const { LineCounter: Lines, parseDocument } = yaml();
      const lines = new Lines();
      parsed = { doc: parseDocument(readFileSync(join(repo.root, PIPELINE_FILE), 'utf8'), { lineCounter: lines }), lines };
    }
    const line = lineOf(parsed.doc, parsed.lines, at);
    return line ? `${PIPELINE_FILE}:${line}` : PIPELINE_FILE;
  };
  return { stages, byName: new Map(stages.map((s) => [s.name, s])), params, where };
}
