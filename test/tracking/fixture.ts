/**
 * A small training pipeline for the tracking tests: a Node script that reads params.yaml, appends a
 * step series to $MLO_METRICS_FILE, and writes metrics.json and a cached output.
 */
import { git, makeRepo, type Tree } from '../helpers.js';

export const TRAIN = `
const fs = require('fs');
const text = fs.readFileSync('params.yaml', 'utf8');
const lr = Number(/^lr:\\s*(\\S+)/m.exec(text)[1]);
const depth = Number((/depth:\\s*(\\S+)/m.exec(text) || [0, 1])[1]);
for (let step = 0; step < 5; step++) {
  fs.appendFileSync(process.env.MLO_METRICS_FILE, JSON.stringify({ step, loss: lr / (step + 1) }) + '\\n');
}
fs.mkdirSync('out', { recursive: true });
fs.writeFileSync('out/model.txt', 'model lr=' + lr + ' depth=' + depth + '\\n');
fs.writeFileSync('metrics.json', JSON.stringify({ acc: Math.round((1 - lr + depth / 100) * 1000) / 1000, eval: { status: 'ok' } }));
`;

export const PIPELINE = `stages:
  train:
    cmd: node train.cjs
    deps: [train.cjs]
    params: [lr, model.depth]
    outs: [out]
    metrics:
      - metrics.json:
          cache: false
`;

export const TREE: Tree = {
  'train.cjs': TRAIN,
  'mlo.yaml': PIPELINE,
  'params.yaml': '# training params\nlr: 0.1\nmodel:\n  depth: 3\n',
};

/** A committed repo with the training pipeline. */
export async function trainingRepo(extra: Tree = {}): Promise<string> {
  const dir = await makeRepo({ ...TREE, ...extra });
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'pipeline');
  return dir;
}
