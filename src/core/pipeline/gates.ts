/**
 * The metric gates declared in mlo.yaml (`gates:`): for each metric, which direction is better and how
 * much worse than the base revision it may get. Read from the workspace's mlo.yaml, validated by the same
 * schema as the rest of the file, so a typo in a gate fails with its line like any other key.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseYamlText } from '../../base/yamlfile.js';
import { explainFsError } from '../../base/errors.js';
import type { Repo } from '../repo/repo.js';
import { PIPELINE_FILE } from '../repo/names.js';
import { pipelineSchema, type Gate } from './schema.js';

export type { Gate };

/** The gates of the workspace's mlo.yaml, by metric (KEY or FILE:KEY); none without mlo.yaml. */
export function readGates(repo: Repo): Record<string, Gate> {
  let text: string;
  try {
    text = readFileSync(join(repo.root, PIPELINE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    explainFsError(err, PIPELINE_FILE);
  }
  return parseYamlText(text, PIPELINE_FILE, pipelineSchema).value.gates ?? {};
}
