/**
 * The feature contract (issue 14, item 1) and MLflow's request formats (item 5): a model that names its
 * features in its ONNX metadata, fed from files and requests whose columns are in another order and
 * include an id and a label, which must never reach the model.
 */
import { describe, expect, it } from 'vitest';
import { buildLinear, buildOnnx } from '../support/onnx-builder.js';
import { json, makeRepo, mlo, read, tempDir, writeTree } from '../helpers.js';
import { post, serve } from './fixtures.js';

const WEIGHTS = Float32Array.from([1, 10, 100, 1000]);
/** y = f1 + 10 f2 + 100 f3 + 1000 f4: any column fed in the wrong place shows in the answer. */
const CHURN = Buffer.from(
  buildLinear({ inFeatures: 4, outFeatures: 1, weights: WEIGHTS, bias: Float32Array.from([0]), metadata: { feature_names: 'f1,f2,f3,f4' } }),
);
const UNNAMED = Buffer.from(buildLinear({ inFeatures: 4, outFeatures: 1, weights: WEIGHTS, bias: Float32Array.from([0]) }));
const score = (f: number[]) => f[0] + 10 * f[1] + 100 * f[2] + 1000 * f[3];

/** Rows of features f1..f4, with an id and a 0/1 label: all numeric, so position alone cannot tell them apart. */
const ROWS = [
  { id: 101, f1: 1, f2: 2, f3: 3, f4: 4, churned: 1 },
  { id: 102, f1: 5, f2: 6, f3: 7, f4: 8, churned: 0 },
  { id: 103, f1: 0.5, f2: 0, f3: 2, f4: 1, churned: 1 },
];
const SHUFFLED = ['id', 'f3', 'churned', 'f1', 'f4', 'f2'] as const;
const shuffledCsv = `${SHUFFLED.join(',')}\n${ROWS.map((r) => SHUFFLED.map((c) => r[c]).join(',')).join('\n')}\n`;
const expected = ROWS.map((r) => score([r.f1, r.f2, r.f3, r.f4]));

const predictions = (text: string) => text.trim().split('\n').slice(1).map(Number);

describe('one feature contract per model', () => {
  it('predict maps the columns by name from the ONNX metadata, leaving out id and label with a note', async () => {
    const dir = tempDir();
    writeTree(dir, { 'churn.onnx': CHURN, 'prod.csv': shuffledCsv });
    const r = await mlo(dir, 'predict', 'churn.onnx', '-i', 'prod.csv', '-o', 'out.csv');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/x <- f1, f2, f3, f4/);
    expect(r.stderr).toMatch(/note: ignored the columns id, churned of prod.csv/);
    expect(predictions(read(dir, 'out.csv'))).toEqual(expected);

    const j = json(await mlo(dir, 'predict', 'churn.onnx', '-i', 'prod.csv', '-o', 'out.csv', '--json'));
    expect(j).toMatchObject({ rows: 3, inputs: { x: ['f1', 'f2', 'f3', 'f4'] }, ignored: ['id', 'churned'], warnings: [] });

    // A file with other names maps onto the features with --columns, one per feature, and says so.
    writeTree(dir, { 'renamed.csv': 'd,c,b,a\n4,3,2,1\n' });
    const renamed = await mlo(dir, 'predict', 'churn.onnx', '-i', 'renamed.csv', '-o', 'out.csv', '--columns', 'a,b,c,d');
    expect(renamed.exitCode, renamed.stderr).toBe(0);
    expect(renamed.stderr).toMatch(/warning: --columns feeds a as f1, b as f2, c as f3, d as f4/);
    expect(predictions(read(dir, 'out.csv'))).toEqual([score([1, 2, 3, 4])]);
    const short = await mlo(dir, 'predict', 'churn.onnx', '-i', 'renamed.csv', '-o', 'out.csv', '--columns', 'a,b,c', '--json');
    expect(short.exitCode).toBe(2);
    expect(json(short).error).toMatchObject({
      code: 'MLO_FEATURE_MISMATCH',
      message: '--columns names 3 columns but churn.onnx takes the features f1, f2, f3, f4',
    });
  });

  it('refuses a file that lacks features, naming every missing one', async () => {
    const dir = tempDir();
    writeTree(dir, { 'churn.onnx': CHURN, 'prod.csv': 'id,f1,f3,label\n1,2,3,0\n' });
    const r = await mlo(dir, 'predict', 'churn.onnx', '-i', 'prod.csv', '-o', 'out.csv', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).error).toMatchObject({ code: 'MLO_BAD_INPUT' });
    expect(json(r).error.message).toBe('prod.csv lacks the feature columns f2, f4 of churn.onnx (it takes f1, f2, f3, f4; the file has id, f1, f3, label)');
  });

  it('package records the names from the metadata and refuses --columns that contradict them', async () => {
    const repo = await makeRepo({ 'churn.onnx': CHURN, 'unnamed.onnx': UNNAMED, 'prod.jsonl': ROWS.map((r) => JSON.stringify(r)).join('\n') });
    const bad = await mlo(repo, 'model', 'package', 'churn.onnx', '--name', 'churn', '--columns', 'x1,x2,x3,x4');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.split('\n')[0]).toMatch(/--columns x1,x2,x3,x4 contradicts the feature names in churn.onnx's metadata: f1,f2,f3,f4/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);

    const ok = await mlo(repo, 'model', 'package', 'churn.onnx', '--name', 'churn', '--json');
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(json(ok).features).toEqual({ columns: ['f1', 'f2', 'f3', 'f4'], source: 'metadata' });
    expect(read(repo, 'models/churn/model.yaml')).toMatch(/columns: \[f1, f2, f3, f4\]/);
    // The same --columns as the metadata is no contradiction.
    expect((await mlo(repo, 'model', 'package', 'churn.onnx', '--name', 'churn', '--columns', 'f1,f2,f3,f4')).exitCode).toBe(0);

    const pred = await mlo(repo, 'predict', 'models/churn', '-i', 'prod.jsonl', '-o', 'out.csv', '--json');
    expect(pred.exitCode, pred.stderr).toBe(0);
    expect(predictions(read(repo, 'out.csv'))).toEqual(expected);

    // A model that names nothing takes its names from --columns, which must fit the input's width.
    const narrow = await mlo(repo, 'model', 'package', 'unnamed.onnx', '--name', 'unnamed', '--columns', 'f1,f2,f3', '--json');
    expect(narrow.exitCode).toBe(2);
    expect(json(narrow).error).toMatchObject({ code: 'MLO_FEATURE_MISMATCH', message: "--columns names 3 features but input 'x' of unnamed.onnx takes 4" });
    const named = await mlo(repo, 'model', 'package', 'unnamed.onnx', '--name', 'unnamed', '--columns', 'f1,f2,f3,f4', '--json');
    expect(json(named).features).toEqual({ columns: ['f1', 'f2', 'f3', 'f4'], source: 'columns' });
    writeTree(repo, { 'prod.csv': shuffledCsv });
    const byName = await mlo(repo, 'predict', 'models/unnamed', '-i', 'prod.csv', '-o', 'out2.csv');
    expect(byName.exitCode, byName.stderr).toBe(0);
    expect(predictions(read(repo, 'out2.csv'))).toEqual(expected);
  });

  it('model inspect shows the contract and where it came from, as a line and under --json', async () => {
    const twoInputs = Buffer.from(
      buildOnnx({
        inputs: [
          { name: 'age', type: 'float32', shape: ['batch', 1] },
          { name: 'income', type: 'float32', shape: ['batch', 1] },
        ],
        outputs: [{ name: 'y', type: 'float32', shape: ['batch', 1] }],
        nodes: [{ op: 'Add', inputs: ['age', 'income'], outputs: ['y'] }],
      }),
    );
    const badNames = Buffer.from(
      buildLinear({ inFeatures: 4, outFeatures: 1, weights: WEIGHTS, bias: Float32Array.from([0]), metadata: { feature_names: '[1, 2]' } }),
    );
    const repo = await makeRepo({ 'churn.onnx': CHURN, 'unnamed.onnx': UNNAMED, 'two.onnx': twoInputs, 'bad.onnx': badNames });
    const inspect = async (file: string) => {
      const r = await mlo(repo, 'model', 'inspect', file, '--json');
      expect(r.exitCode, r.stderr).toBe(0);
      const text = await mlo(repo, 'model', 'inspect', file);
      return { features: json(r).features, line: text.stdout.split('\n').find((l) => l.startsWith('features')) };
    };

    expect(await inspect('churn.onnx')).toEqual({
      features: { columns: ['f1', 'f2', 'f3', 'f4'], source: 'metadata' },
      line: "features   f1, f2, f3, f4 (from the model's metadata, feature_names)",
    });
    expect(await inspect('two.onnx')).toEqual({
      features: { source: 'inputs' },
      line: 'features   one column per input, named after it (from the input names)',
    });
    expect(await inspect('unnamed.onnx')).toEqual({ features: { source: 'none' }, line: "features   none named (no feature_names in the model's metadata)" });
    const bad = await inspect('bad.onnx');
    expect(bad.features).toEqual({ source: 'none', problem: `bad.onnx: metadata 'feature_names' is not a list of names ("[1, 2]")` });

    // A package made with --columns: its model file has no names of its own, its model.yaml does.
    expect((await mlo(repo, 'model', 'package', 'unnamed.onnx', '--name', 'unnamed', '--columns', 'f1,f2,f3,f4')).exitCode).toBe(0);
    expect(await inspect('models/unnamed/model.onnx')).toEqual({
      features: { columns: ['f1', 'f2', 'f3', 'f4'], source: 'columns', file: 'models/unnamed/model.yaml' },
      line: 'features   f1, f2, f3, f4 (from --columns, recorded in models/unnamed/model.yaml)',
    });
  });

  it('a model with no names at all: numeric columns by position only when their count fits, with a warning', async () => {
    const dir = tempDir();
    writeTree(dir, {
      'unnamed.onnx': UNNAMED,
      'prod.csv': shuffledCsv,
      'four.csv': 'a,b,c,d\n1,2,3,4\n',
    });
    // id and label are numeric too: six columns for four features is refused, never cut to four.
    const refused = await mlo(dir, 'predict', 'unnamed.onnx', '-i', 'prod.csv', '-o', 'out.csv', '--json');
    expect(refused.exitCode).toBe(1);
    expect(json(refused).error.message).toMatch(/input 'x' takes 4 features but the file has 6 numeric columns \(id, f3, churned, f1, f4, f2\)/);
    const four = await mlo(dir, 'predict', 'unnamed.onnx', '-i', 'four.csv', '-o', 'out.csv');
    expect(four.exitCode, four.stderr).toBe(0);
    expect(four.stderr).toMatch(/warning: unnamed.onnx names no feature columns: fed a, b, c, d by position/);
    expect(predictions(read(dir, 'out.csv'))).toEqual([score([1, 2, 3, 4])]);
  });
});

describe('/invocations speaks MLflow formats through the contract', () => {
  it('takes dataframe_split, dataframe_records, instances, inputs and text/csv by column name', { timeout: 60_000 }, async () => {
    const repo = await makeRepo({ 'churn.onnx': CHURN, 'unnamed.onnx': UNNAMED });
    expect((await mlo(repo, 'model', 'package', 'churn.onnx', '--name', 'churn')).exitCode).toBe(0);
    const s = await serve(repo, ['models/churn', 'unnamed.onnx']);
    try {
      const want = { predictions: expected.map((v) => [v]) };
      const records = ROWS.map((r) => ({ ...r }));
      const bodies: unknown[] = [
        { dataframe_split: { columns: [...SHUFFLED], data: ROWS.map((r) => SHUFFLED.map((c) => r[c])) } },
        { dataframe_records: records },
        { instances: records },
        { inputs: Object.fromEntries(SHUFFLED.map((c) => [c, ROWS.map((r) => r[c])])) },
        // Unnamed tensors are the model's own input: no mapping.
        { inputs: ROWS.map((r) => [r.f1, r.f2, r.f3, r.f4]) },
      ];
      for (const body of bodies) {
        const r = await post(`${s.url}/invocations?model=churn`, body);
        expect(r.status, JSON.stringify(body)).toBe(200);
        expect(await r.json()).toEqual(want);
      }
      const csv = await post(`${s.url}/invocations?model=churn`, shuffledCsv, { 'content-type': 'text/csv' });
      expect(csv.status).toBe(200);
      expect(await csv.json()).toEqual(want);
      const quoted = await post(`${s.url}/invocations?model=churn`, '"f4","f3",f2,f1\r\n4,3,2,1\r\n', { 'content-type': 'text/csv; charset=utf-8' });
      expect(await quoted.json()).toEqual({ predictions: [[score([1, 2, 3, 4])]] });

      const missing = await post(`${s.url}/invocations?model=churn`, 'id,f1,f2\n1,2,3\n', { 'content-type': 'text/csv' });
      expect(missing.status).toBe(400);
      expect((await missing.json()).message).toBe("missing feature columns f3, f4; input 'x' takes f1, f2, f3, f4 (got id, f1, f2)");
      const ragged = await post(`${s.url}/invocations?model=churn`, 'f1,f2,f3,f4\n1,2,3\n', { 'content-type': 'text/csv' });
      expect(ragged.status).toBe(400);
      expect((await ragged.json()).message).toBe('row 1 of the CSV body has 3 values; the header names 4 columns');
      const text = await post(`${s.url}/invocations?model=churn`, 'f1,f2,f3,f4\n1,2,three,4\n', { 'content-type': 'text/csv' });
      expect(text.status).toBe(400);
      expect((await text.json()).message).toMatch(/input 'x'/);

      // A model without names takes a table of exactly its width, in order.
      const plain = await post(`${s.url}/invocations?model=unnamed`, 'a,b,c,d\n1,2,3,4\n', { 'content-type': 'text/csv' });
      expect(await plain.json()).toEqual({ predictions: [[score([1, 2, 3, 4])]] });
      const wide = await post(`${s.url}/invocations?model=unnamed`, shuffledCsv, { 'content-type': 'text/csv' });
      expect(wide.status).toBe(400);
    } finally {
      await s.stop();
    }
  });
});
