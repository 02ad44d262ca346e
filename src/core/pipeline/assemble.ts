import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Document, LineCounter } from 'yaml';
import { yaml } from '../../base/lazy-yaml.js';
import { lineOf } from '../../base/yamlfile.js';
import type { Repo } from '../repo/repo.js';
import { PIPELINE_FILE } from './names.js';
import type { ParamsReader } from './params.js';
import type { Pipeline, Stage } from './stage.js';

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
