import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildGraph, dagJson, selectStages, toDot, toMermaid } from './dag.js';
import { parsePipeline } from './load.js';
import { ParamsReader } from './params.js';

const dir = mkdtempSync(join(tmpdir(), 'mlo-dag-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const parse = (text: string) => parsePipeline(text, new ParamsReader(dir));

const chain = `
stages:
  evaluate:
    cmd: eval
    deps: [models/model.onnx, data/test]
    metrics: [{metrics.json: {cache: false}}]
  prepare:
    cmd: prep
    deps: [raw.csv]
    outs: [data]
  train:
    cmd: train
    deps: [data/train.csv]
    outs: [models/model.onnx]
  report:
    cmd: report
    deps: [raw.csv]
    outs: [report.html]
`;

describe('stage graph', () => {
  it('links a dep to the stage whose out is, contains or lies inside it', () => {
    const g = buildGraph(parse(chain));
    expect([...g.upstream.get('train')!]).toEqual(['prepare']);
    expect([...g.upstream.get('evaluate')!].sort()).toEqual(['prepare', 'train']);
    expect(selectStages(g, [])).toEqual(['prepare', 'train', 'report', 'evaluate']);
  });

  it('selects upstream, downstream or single stages', () => {
    const g = buildGraph(parse(chain));
    expect(selectStages(g, ['train'])).toEqual(['prepare', 'train']);
    expect(selectStages(g, ['train'], { singleItem: true })).toEqual(['train']);
    expect(selectStages(g, ['train'], { downstream: true })).toEqual(['train', 'evaluate']);
    expect(() => selectStages(g, ['nope'])).toThrow(/no stage named 'nope'/);
  });

  it('names the cycle', () => {
    const p = parse(
      'stages:\n  a:\n    cmd: a\n    deps: [y]\n    outs: [x]\n  b:\n    cmd: b\n    deps: [x]\n    outs: [z]\n  c:\n    cmd: c\n    deps: [z]\n    outs: [y]\n',
    );
    expect(() => buildGraph(p)).toThrow(/cycle: a -> b -> c -> a/);
  });

  it('renders mermaid and dot', () => {
    const g = buildGraph(parse(chain));
    const doc = dagJson(g, selectStages(g, ['train']));
    expect(doc.edges).toEqual([{ from: 'prepare', to: 'train' }]);
    expect(toMermaid(doc).join('\n')).toContain('s0 --> s1');
    expect(toDot(doc).join('\n')).toContain('"prepare" -> "train";');
  });

  it('expands foreach and matrix stages', () => {
    writeFileSync(join(dir, 'params.yaml'), 'models: [small, large]\n');
    const p = parse(`
stages:
  train:
    foreach: \${models}
    do:
      cmd: train --size \${item}
      outs:
        - models/\${item}.onnx
  grid:
    matrix:
      lr: [0.1, 0.01]
      opt: [sgd, {name: adam}]
    cmd: grid --lr \${item.lr}
    outs:
      - grid/\${key}.json
`);
    expect(p.stages.map((s) => s.name)).toEqual(['train@small', 'train@large', 'grid@0.1-sgd', 'grid@0.1-opt1', 'grid@0.01-sgd', 'grid@0.01-opt1']);
    expect(p.byName.get('train@large')!.cmd).toBe('train --size large');
    expect(p.byName.get('train@large')!.outs[0].path).toBe('models/large.onnx');
    expect(p.byName.get('grid@0.01-opt1')!.outs[0].path).toBe('grid/0.01-opt1.json');
    rmSync(join(dir, 'params.yaml'));
  });
});
