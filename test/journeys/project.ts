/**
 * The project the journeys share: data added with `mlo add`, one stage on default settings (a cached
 * model folder, cached metrics, a cached plot) plus one `cache: false` report. Its command is
 * deterministic, so a re-run writes the same bytes and a reproduction can compare hashes.
 */
import { expect } from 'vitest';
import { writeTree } from '../helpers.js';
import { mloJson, mloOk } from './support.js';

export const RAW = 'id,v\n1,10\n2,20\n3,30\n';

export const TREE = {
  'params.yaml': 'train:\n  scale: 2\n',
  'train.sh': [
    "scale=$(sed -n 's/^ *scale: *//p' params.yaml)",
    'mkdir -p model',
    `awk -F, -v s="$scale" 'NR>1 {t+=$2*s} END {print t}' data/raw.csv > model/weights.txt`,
    'rows=$(($(wc -l < data/raw.csv) - 1))',
    'echo "{\\"total\\": $(cat model/weights.txt), \\"rows\\": $rows}" > metrics.json',
    "printf 'step,loss\\n1,0.5\\n2,0.25\\n' > loss.csv",
    'echo "scale $scale" > report.txt',
    '',
  ].join('\n'),
};

/** Objects the pipeline's data needs on the remote: raw.csv, model/ (manifest and weights.txt), metrics.json, loss.csv. */
export const OBJECTS = 5;

/** Writes and adds the data (never in git itself) and the stage in `dir`; returns what `mlo add` asked git to track. */
export async function setUpPipeline(dir: string): Promise<string[]> {
  writeTree(dir, { 'data/raw.csv': RAW });
  const [added] = await mloJson(dir, 'add', 'data/raw.csv');
  expect(added.toTrack).toEqual(['data/raw.csv.mlo', 'data/.gitignore']);
  await mloOk(
    dir,
    'stage',
    'add',
    '-n',
    'train',
    '-d',
    'data/raw.csv',
    '-d',
    'train.sh',
    '-p',
    'train.scale',
    '-o',
    'model',
    '-m',
    'metrics.json',
    '--plots',
    'loss.csv',
    '-O',
    'report.txt',
    '--',
    'sh',
    'train.sh',
  );
  return added.toTrack;
}
