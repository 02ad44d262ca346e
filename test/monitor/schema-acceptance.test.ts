/**
 * Acceptance of `mlo schema infer`: a schema inferred on a random 70% of a real data set accepts the
 * other 30%, and rejects that 30% once it holds one text value, one empty cell and one NaN, naming each
 * column and row. Three scikit-learn data sets (wine, diabetes, iris) exported by Python, with a unique
 * `id` column in front and iris's species as text; 10 seeded splits each, all through the built binary.
 * Skips, saying why, where Python with scikit-learn is missing (MLO_PYTHON, or the checkout's .venv).
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, mlo, read, ROOT, tempDir, writeTree } from '../helpers.js';
import { seeded } from '../../src/core/monitor/infer.js';

const DATASETS = ['wine', 'diabetes', 'iris'] as const;
const SPLITS = 10;

async function sklearnPython(): Promise<string | undefined> {
  for (const py of [process.env.MLO_PYTHON, join(ROOT, '.venv', 'bin', 'python')].filter((p): p is string => Boolean(p))) {
    if (py.includes('/') && !existsSync(py)) continue;
    const r = await execa(py, ['-c', 'import sklearn, pandas'], { reject: false });
    if (r.exitCode === 0) return py;
  }
  return undefined;
}

const EXPORT = `
import sys
from sklearn import datasets
out = sys.argv[1]
for name in ${JSON.stringify(DATASETS)}:
    d = getattr(datasets, 'load_' + name)(as_frame=True)
    df = d.frame.copy()
    if name == 'iris':
        df['target'] = [d.target_names[t] for t in d.target]
    df.insert(0, 'id', range(1, len(df) + 1))
    df.to_csv(f'{out}/{name}.csv', index=False)
`;

/** Deterministic pseudo-random numbers (mulberry32, the generator schema inference uses) so failures reproduce. */
const rng = seeded;

function shuffled<T>(items: T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

interface Tally {
  dataset: string;
  splits: number;
  passes: number;
  rejections: number;
}

let python: string | undefined;
let dir: string;
const tallies: Tally[] = [];

beforeAll(async () => {
  python = await sklearnPython();
  if (!python) {
    console.warn('skipping the schema acceptance test: no Python with scikit-learn and pandas (set MLO_PYTHON or create .venv; see test/requirements.txt)');
    return;
  }
  dir = tempDir();
  await execa(python, ['-c', EXPORT, dir]);
}, 120_000);

afterAll(() => {
  if (tallies.length === 0) return;
  const lines = [
    'dataset   splits  passes  rejections',
    ...tallies.map((t) => `${t.dataset.padEnd(9)} ${String(t.splits).padStart(6)}  ${String(t.passes).padStart(6)}  ${String(t.rejections).padStart(10)}`),
  ];
  console.log(`schema acceptance (70% infers, 30% validates):\n${lines.join('\n')}`);
});

describe('a schema inferred on 70% of a data set', () => {
  for (const [d, name] of DATASETS.entries()) {
    it(`accepts the other 30% of ${name}, and rejects it with a text value, an empty cell and a NaN`, async (ctx) => {
      if (!python) ctx.skip();
      const [header, ...rows] = read(dir, `${name}.csv`).trimEnd().split('\n');
      const columns = header.split(',');
      // The first three feature columns (after id) take the bad values.
      const bad = columns.slice(1, 4);
      const tally: Tally = { dataset: name, splits: SPLITS, passes: 0, rejections: 0 };
      for (let split = 0; split < SPLITS; split++) {
        const random = rng(1000 * d + split);
        const order = shuffled(rows, random);
        const cut = Math.round(rows.length * 0.7);
        const train = order.slice(0, cut);
        const test = order.slice(cut);
        const at = () => 1 + Math.floor(random() * test.length);
        const where = [at(), at(), at()]; // data rows (1-based) that get the bad values
        const broken = test.map((line, i) => {
          const cells = line.split(',');
          if (i + 1 === where[0]) cells[1] = 'abc';
          if (i + 1 === where[1]) cells[2] = '';
          if (i + 1 === where[2]) cells[3] = 'NaN';
          return cells.join(',');
        });
        writeTree(dir, {
          'train.csv': `${header}\n${train.join('\n')}\n`,
          'test.csv': `${header}\n${test.join('\n')}\n`,
          'broken.csv': `${header}\n${broken.join('\n')}\n`,
        });
        const inferred = await mlo(dir, 'schema', 'infer', 'train.csv', '-o', 'schema.yaml', '--json');
        expect(inferred.exitCode, inferred.stderr).toBe(0);
        const schema = json(inferred).schema;
        expect(schema.columns.id, 'the id column is recognised').toMatchObject({ role: 'id', unique: true });
        expect(schema.columns.id.min).toBeUndefined();

        const ok = await mlo(dir, 'validate', 'test.csv', '--schema', 'schema.yaml', '--json');
        const report = json(ok);
        expect(report.violations, `${name} split ${split}: the held-out 30% fails the schema`).toEqual([]);
        expect(ok.exitCode).toBe(0);
        tally.passes++;

        const no = await mlo(dir, 'validate', 'broken.csv', '--schema', 'schema.yaml', '--json');
        expect(no.exitCode).toBe(1);
        const found = json(no).violations.map((v: { column: string; rule: string; examples: { row: number }[] }) => [v.column, v.rule, v.examples[0].row]);
        expect(found).toEqual(
          expect.arrayContaining([
            [bad[0], 'type', where[0]],
            [bad[1], 'not_null', where[1]],
            [bad[2], 'nan', where[2]],
          ]),
        );
        const text = await mlo(dir, 'validate', 'broken.csv', '--schema', 'schema.yaml');
        for (const [column, row] of [bad[0], bad[1], bad[2]].map((c, i) => [c, where[i]] as const)) {
          expect(text.stdout).toMatch(new RegExp(`${column.replace(/[()]/g, '\\$&')}\\s.*row ${row}:`));
        }
        tally.rejections++;
      }
      tallies.push(tally);
      expect(tally).toEqual({ dataset: name, splits: SPLITS, passes: SPLITS, rejections: SPLITS });
    }, 300_000);
  }
});
