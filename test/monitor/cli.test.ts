/**
 * End-to-end: mlo schema infer, mlo validate, mlo monitor drift and mlo monitor status run as the built
 * binary, with exit codes, stdout, stderr and --json shapes checked.
 */
import { describe, expect, it } from 'vitest';
import { json, makeRepo, mlo, read, tempDir, writeTree, type MloResult } from '../helpers.js';

/** Shows the command's output when an assertion about it fails. */
function explain(r: MloResult): string {
  return `exit ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

const TRAIN = [
  'id,age,plan,income,churned',
  '1,34,free,52000.5,false',
  '2,45,pro,61000,false',
  '3,29,free,,true',
  '4,52,team,88000.25,false',
  '5,41,pro,73000,true',
  '6,38,free,49000,false',
  '7,33,pro,57000,false',
  '8,60,team,99000,true',
].join('\n');

/** n rows of a numeric feature x (shifted by `shift`) and a categorical feature `color`. */
function sample(n: number, shift: number, colors: string[], seed: number): string {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const lines = ['x,color'];
  for (let i = 0; i < n; i++) {
    const x = Math.sqrt(-2 * Math.log(rand() || 1e-9)) * Math.cos(2 * Math.PI * rand()) + shift;
    lines.push(`${x.toFixed(4)},${colors[Math.floor(rand() * colors.length)]}`);
  }
  return `${lines.join('\n')}\n`;
}

function serveLine(o: {
  ts: string;
  status?: number;
  latency?: number;
  version?: number;
  model?: string;
  x?: unknown;
  color?: unknown;
  score?: unknown;
}): string {
  return JSON.stringify({
    ts: o.ts,
    model: o.model ?? 'churn',
    version: o.version ?? 3,
    status: o.status ?? 200,
    latency_ms: o.latency ?? 2,
    inputs: { x: o.x ?? [0.1, -0.2], color: o.color ?? ['red', 'blue'] },
    outputs: { score: o.score ?? [0.3, 0.7] },
  });
}

describe('mlo schema infer and mlo validate', () => {
  it('infers a schema that the same data passes, outside any repository', async () => {
    const dir = tempDir();
    writeTree(dir, { 'train.csv': TRAIN });
    const inferred = await mlo(dir, 'schema', 'infer', 'train.csv', '-o', 'schema.yaml');
    expect(inferred.exitCode, explain(inferred)).toBe(0);
    expect(inferred.stdout).toContain('Wrote schema.yaml: 5 columns inferred from 8 rows of train.csv');
    const yaml = read(dir, 'schema.yaml');
    expect(yaml).toMatch(/^# Data schema inferred by mlo from train\.csv \(8 rows\)/);
    // The id column is recognised (unique, rising) and gets no range; age's range is widened.
    expect(yaml).toContain('  id:\n    type: int\n    nullable: false\n    unique: true\n    role: id\n');
    expect(yaml).toContain('  age:\n    type: int\n    nullable: false\n    min: 13\n    max: 76\n');
    expect(yaml).toContain('  plan:\n    type: string\n    nullable: false\n    categories: [free, pro, team]\n    unseen: 0.01');
    expect(yaml).toContain('  income:\n    type: float\n    nullable: true');
    expect(yaml).toContain('  churned:\n    type: bool');

    const ok = await mlo(dir, 'validate', 'train.csv', '--schema', 'schema.yaml');
    expect(ok.exitCode, explain(ok)).toBe(0);
    expect(ok.stdout).toBe('OK train.csv matches schema.yaml (8 rows, 5 columns)');
  });

  it('prints the schema as YAML, or as JSON under --json, without -o', async () => {
    const dir = tempDir();
    writeTree(dir, { 'train.csv': TRAIN });
    const text = await mlo(dir, 'schema', 'infer', 'train.csv');
    expect(text.exitCode, explain(text)).toBe(0);
    expect(text.stdout).toContain('version: 1\nrows:\n  min: 1\ncolumns:\n');
    const r = await mlo(dir, 'schema', 'infer', 'train.csv', '--json');
    expect(json(r)).toMatchObject({
      version: 1,
      columns: { plan: { type: 'string', categories: ['free', 'pro', 'team'] }, age: { type: 'int', min: 13, max: 76 } },
    });
    const strict = await mlo(dir, 'schema', 'infer', 'train.csv', '--strict', '--json');
    expect(json(strict).columns).toMatchObject({ age: { min: 29, max: 60 }, plan: { unseen: 0 }, id: { role: 'id' } });
  });

  it('reports every failed rule with counts and example rows, and exits 1', async () => {
    const dir = await makeRepo({ 'train.csv': TRAIN });
    expect((await mlo(dir, 'schema', 'infer', 'train.csv', '-o', 'schema.yaml', '--strict')).exitCode).toBe(0);
    writeTree(dir, {
      'new.csv': ['id,age,plan,income,churned,extra', '1,34,free,1000,false,x', '1,200,gold,2000,maybe,y', '3,,free,NaN,true,z', '4,-1,pro,inf,false,w'].join(
        '\n',
      ),
    });
    const r = await mlo(dir, 'validate', 'new.csv', '--schema', 'schema.yaml');
    expect(r.exitCode, explain(r)).toBe(1);
    expect(r.stdout).toContain('FAIL new.csv: 10 rules failed (4 rows checked against schema.yaml)');
    expect(r.stdout).toMatch(/id\s+unique\s+1\s+no duplicates\s+row 2: 1/);
    expect(r.stdout).toMatch(/age\s+not_null\s+1\s+a value\s+row 3: \(empty\)/);
    expect(r.stdout).toMatch(/age\s+min\s+1\s+>= 29\s+row 4: -1/);
    expect(r.stdout).toMatch(/age\s+max\s+1\s+<= 60\s+row 2: 200/);
    expect(r.stdout).toMatch(/plan\s+categories\s+1\s+one of free, pro, team\s+row 2: gold/);
    expect(r.stdout).toMatch(/income\s+min\s+2\s+>= 49000\s+row 1: 1000, row 2: 2000/);
    expect(r.stdout).toMatch(/income\s+nan\s+1/);
    expect(r.stdout).toMatch(/income\s+inf\s+1/);
    expect(r.stdout).toMatch(/churned\s+type\s+1\s+bool\s+row 2: maybe/);
    expect(r.stdout).toMatch(/extra\s+extra_column/);

    const j = await mlo(dir, 'validate', 'new.csv', '--schema', 'schema.yaml', '--json', '--max-examples', '1');
    expect(j.exitCode).toBe(1);
    const report = json(j);
    expect(report).toMatchObject({ file: 'new.csv', schema: 'schema.yaml', format: 'csv', rows: 4, columns: 5, ok: false });
    expect(report.violations).toContainEqual({ column: 'income', rule: 'min', expected: '>= 49000', count: 2, examples: [{ row: 1, value: '1000' }] });
  });

  it('tolerates unseen categories up to the inferred share, and --strict none', async () => {
    const dir = tempDir();
    const plans = (n: number, odd: number) => ['plan', ...Array.from({ length: n }, (_, i) => (i < odd ? 'gold' : ['free', 'pro', 'team'][i % 3]))].join('\n');
    writeTree(dir, { 'train.csv': plans(300, 0), 'one.csv': plans(200, 1), 'three.csv': plans(200, 3) });
    expect((await mlo(dir, 'schema', 'infer', 'train.csv', '-o', 'schema.yaml')).exitCode).toBe(0);
    expect((await mlo(dir, 'schema', 'infer', 'train.csv', '-o', 'strict.yaml', '--strict')).exitCode).toBe(0);
    const one = await mlo(dir, 'validate', 'one.csv', '--schema', 'schema.yaml');
    expect(one.exitCode, explain(one)).toBe(0);
    const three = await mlo(dir, 'validate', 'three.csv', '--schema', 'schema.yaml');
    expect(three.exitCode, explain(three)).toBe(1);
    expect(three.stdout).toMatch(/plan\s+categories\s+3\s+one of free, pro, team \(1% unseen allowed\)\s+row 1: gold/);
    expect((await mlo(dir, 'validate', 'one.csv', '--schema', 'strict.yaml')).exitCode).toBe(1);
  });

  it('checks row-count bounds, required columns and JSON lines', async () => {
    const dir = tempDir();
    writeTree(dir, {
      'schema.yaml':
        'version: 1\nrows: {min: 3, max: 10}\nallow_extra_columns: true\ncolumns:\n  a: {type: float, nullable: false, min: 0}\n  b: {type: string, required: false, nullable: true}\n  c: {type: int}\n',
      'data.jsonl': '{"a": 1.5, "z": 1}\n{"a": -2}\n',
    });
    const r = await mlo(dir, 'validate', 'data.jsonl', '--schema', 'schema.yaml', '--json');
    expect(r.exitCode, explain(r)).toBe(1);
    const rules = json(r).violations.map((v: { column: string | null; rule: string }) => `${v.column}:${v.rule}`);
    expect(rules).toEqual(['null:rows_min', 'a:min', 'c:required']);
  });

  it('names the file, line and key of a bad schema file', async () => {
    const dir = tempDir();
    writeTree(dir, {
      'd.csv': 'a\n1\n',
      's.yaml': 'version: 1\ncolumns:\n  a:\n    type: integer\n',
      't.yaml': 'version: 1\ncolumns:\n  a: {type: int, maxx: 3}\n',
      'u.yaml': 'version: 1\ncolumns: [\n',
    });
    const r = await mlo(dir, 'validate', 'd.csv', '--schema', 's.yaml');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: s\.yaml:4: columns\.a\.type: Invalid enum value\. Expected 'int' \| 'float' \| 'string' \| 'bool', received 'integer'\n/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    const t = await mlo(dir, 'validate', 'd.csv', '--schema', 't.yaml');
    expect(t.stderr).toMatch(/error: t\.yaml:3: columns\.a: Unrecognized key\(s\) in object: 'maxx'/);
    const u = await mlo(dir, 'validate', 'd.csv', '--schema', 'u.yaml');
    expect(u.stderr).toMatch(/error: u\.yaml:\d+:\d+: invalid YAML/);
  });

  it('names the file and line of malformed data, and a missing file', async () => {
    const dir = tempDir();
    writeTree(dir, {
      's.yaml': 'version: 1\ncolumns:\n  a: {type: int}\n  b: {type: int}\n',
      'bad.csv': 'a,b\n1,2\n3,4,5\n',
      'bad.jsonl': '{"a": 1}\n{"a": oops}\n',
    });
    const r = await mlo(dir, 'validate', 'bad.csv', '--schema', 's.yaml');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: bad\.csv:3: expected 2 fields \(as in the header\), found 3\nhint: quote fields/);
    const j = await mlo(dir, 'validate', 'bad.jsonl', '--schema', 's.yaml', '--json');
    expect(json(j).error).toMatchObject({ code: 'MLO_BAD_JSON', message: expect.stringMatching(/^bad\.jsonl:2: invalid JSON/) });
    const m = await mlo(dir, 'validate', 'nope.csv', '--schema', 's.yaml');
    expect(m.stderr).toMatch(/^error: nope\.csv: no such file or directory/);
    const u = await mlo(dir, 'validate', 'bad.csv');
    expect(u.exitCode).toBe(2);
    expect(u.stderr).toMatch(/required option '--schema <file>' not specified/);
  });
});

describe('mlo monitor drift', () => {
  it('finds no drift between samples of the same distribution (exit 0)', async () => {
    const dir = await makeRepo({ 'ref.csv': sample(2000, 0, ['red', 'green', 'blue'], 1), 'cur.csv': sample(1500, 0, ['red', 'green', 'blue'], 2) });
    const r = await mlo(dir, 'monitor', 'drift', '--reference', 'ref.csv', '--current', 'cur.csv');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/^OK 0 of 2 columns drifted \(reference ref\.csv: 2000 rows; current cur\.csv: 1500 rows\)/);
    expect(r.stdout).toMatch(/x\s+numeric\s+[\d.e-]+\s+[\d.e-]+\s+[\d.e-]+\s+-\s+-\s+no/);
    expect(r.stdout).toMatch(/color\s+categorical\s+-\s+-\s+-\s+[\d.e-]+\s+[\d.e-]+\s+no/);
  });

  it('flags a shifted feature and a changed category mix, and exits 1', async () => {
    const dir = await makeRepo({ 'ref.csv': sample(2000, 0, ['red', 'green', 'blue'], 1), 'cur.csv': sample(1500, 1, ['red', 'red', 'red', 'blue'], 2) });
    const r = await mlo(dir, 'monitor', 'drift', '--reference', 'ref.csv', '--current', 'cur.csv', '--json', '--html', 'report.html');
    expect(r.exitCode, explain(r)).toBe(1);
    const report = json(r);
    expect(report).toMatchObject({
      drift: true,
      drifted: 2,
      compared: 2,
      share: 1,
      html: 'report.html',
      reference: { file: 'ref.csv', rows: 2000, format: 'csv' },
      current: { rows: 1500 },
    });
    expect(report.settings).toEqual({
      tests: ['psi', 'ks', 'chi2', 'js'],
      psiThreshold: 0.2,
      psiBins: 10,
      ksP: 0.05,
      chi2P: 0.05,
      jsThreshold: 0.1,
      maxNumericCategories: 5,
      driftShare: null,
    });
    const [x, color] = report.features;
    expect(x).toMatchObject({ column: 'x', type: 'numeric', role: 'feature', drifted: true, ks: { method: 'exact' } });
    expect(x.psi).toBeGreaterThan(0.2);
    expect(x.ks.pvalue).toBeLessThan(1e-10);
    expect(x.reasons).toEqual([expect.stringMatching(/^psi .* >= 0\.2$/), expect.stringMatching(/^ks p .* < 0\.05$/)]);
    expect(color).toMatchObject({ column: 'color', type: 'categorical', drifted: true, chi2: { dof: 2 } });
    const html = read(dir, 'report.html');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('honours thresholds and the choice of tests', async () => {
    const dir = tempDir();
    writeTree(dir, { 'ref.csv': sample(2000, 0, ['a', 'b'], 3), 'cur.csv': sample(2000, 0.15, ['a', 'b'], 4) });
    const strict = await mlo(dir, 'monitor', 'drift', '--reference', 'ref.csv', '--current', 'cur.csv', '--tests', 'ks', '--json');
    expect(json(strict).features[0]).toMatchObject({ drifted: true });
    expect(json(strict).features[0].psi).toBeUndefined();
    const lax = await mlo(dir, 'monitor', 'drift', '--reference', 'ref.csv', '--current', 'cur.csv', '--tests', 'psi,js', '--psi-threshold', '0.5');
    expect(lax.exitCode, explain(lax)).toBe(0);
    const share = await mlo(dir, 'monitor', 'drift', '--reference', 'ref.csv', '--current', 'cur.csv', '--tests', 'ks', '--drift-share', '0.6', '--json');
    expect(json(share)).toMatchObject({ drifted: 1, compared: 2, drift: false });
    expect(share.exitCode).toBe(0);
    const bad = await mlo(dir, 'monitor', 'drift', '--reference', 'ref.csv', '--current', 'cur.csv', '--tests', 'psi,wasserstein');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/error: unknown test 'wasserstein'/);
    const nan = await mlo(dir, 'monitor', 'drift', '--reference', 'ref.csv', '--current', 'cur.csv', '--ks-p', 'abc');
    expect(nan.exitCode).toBe(2);
    expect(nan.stderr).toMatch(/--ks-p must be a number strictly between 0 and 1, got 'abc'/);
  });

  it('reads a serve log: batched inputs become rows, outputs become prediction columns', async () => {
    const dir = tempDir();
    const log: string[] = [];
    for (let i = 0; i < 200; i++) {
      log.push(serveLine({ ts: `2026-11-0${1 + (i % 9)}T10:00:00Z`, x: [3 + (i % 10) / 10, 3.5], color: 'red', score: [0.9, 0.8] }));
    }
    log.push(serveLine({ ts: '2026-11-02T10:00:00Z', status: 500, x: ['garbage'], color: ['?'], score: [null] }));
    log.push(serveLine({ ts: '2026-11-02T10:00:00Z', model: 'other', x: [1], color: ['red'], score: [1] }));
    writeTree(dir, {
      // The reference holds the model's predictions on the training data as prediction.score.
      'ref.csv': sample(1000, 0, ['red', 'blue'], 5)
        .trimEnd()
        .split('\n')
        .map((l, i) => (i === 0 ? `${l},prediction.score` : `${l},${(i % 10) / 10}`))
        .join('\n'),
      'serve.log': log.join('\n') + '\n',
    });
    const r = await mlo(dir, 'monitor', 'drift', '--reference', 'ref.csv', '--current', 'serve.log', '--model', 'churn', '--json');
    expect(r.exitCode, explain(r)).toBe(1);
    const report = json(r);
    expect(report.current).toEqual({ file: 'serve.log', format: 'servelog', rows: 400 });
    expect(report.features.map((f: { column: string; role: string; drifted: boolean }) => [f.column, f.role, f.drifted])).toEqual([
      ['x', 'feature', true],
      ['color', 'feature', true],
      ['prediction.score', 'prediction', true],
    ]);
    expect(report.predictionDrift).toBe(true);
  });

  it('explains a missing column list entry and a malformed serve-log record', async () => {
    const dir = tempDir();
    writeTree(dir, {
      'ref.csv': 'x\n1\n2\n',
      'serve.log': `${serveLine({ ts: '2026-11-01T00:00:00Z' })}\n${JSON.stringify({ ts: '2026-11-01T00:00:00Z', inputs: [1, 2, 3] })}\n`,
    });
    const r = await mlo(dir, 'monitor', 'drift', '--reference', 'ref.csv', '--current', 'serve.log');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: serve\.log:2: inputs: Expected object, received array\nhint: each line of a serve log is/);
    // The reference is read in a worker thread: its errors still name the file as given.
    writeTree(dir, { 'bad.csv': 'x,y\n1,2\n3\n' });
    const w = await mlo(dir, 'monitor', 'drift', '--reference', 'bad.csv', '--current', 'ref.csv', '--json');
    expect(w.exitCode).toBe(1);
    expect(json(w).error).toEqual({ code: 'MLO_BAD_CSV', message: 'bad.csv:3: expected 2 fields (as in the header), found 1', hint: expect.any(String) });
    const c = await mlo(dir, 'monitor', 'drift', '--reference', 'ref.csv', '--current', 'ref.csv', '--columns', 'nope');
    expect(c.exitCode).toBe(2);
    expect(c.stderr).toMatch(/error: column 'nope' is in neither ref\.csv nor ref\.csv/);
  });
});

describe('mlo monitor status', () => {
  const now = '2026-11-23T12:00:00Z';
  function log(dir: string, lines: string[]): void {
    writeTree(dir, { 'serve.log': lines.join('\n') + '\n' });
  }

  it('reports requests, error rate, latency percentiles, last request and age', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    for (let i = 1; i <= 100; i++)
      lines.push(serveLine({ ts: `2026-11-20T10:${String(i % 60).padStart(2, '0')}:00Z`, latency: i, status: i <= 2 ? 500 : 200 }));
    lines.push(serveLine({ ts: '2026-10-01T00:00:00Z', version: 2, latency: 1 }));
    lines.push(serveLine({ ts: '2026-11-10T00:00:00Z', version: 3, latency: 1 }));
    log(dir, lines);
    const r = await mlo(dir, 'monitor', 'status', '--log', 'serve.log', '--now', now, '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    const s = json(r);
    expect(s).toMatchObject({ ok: true, maxAge: '30d', maxErrorRate: 0.05, now: '2026-11-23T12:00:00.000Z' });
    // One entry per version: version 2 answered before version 3 took over, so it is not current and its
    // age is no problem.
    expect(s.models.map((x: { arm: string; current: boolean; ok: boolean }) => [x.arm, x.current, x.ok])).toEqual([
      ['churn@2', false, true],
      ['churn@3', true, true],
    ]);
    const m = s.models[1];
    expect(m).toMatchObject({
      model: 'churn',
      version: 3,
      requests: 101,
      errors: 2,
      versionSince: '2026-11-10T00:00:00.000Z',
      lastRequest: '2026-11-20T10:59:00.000Z',
      stale: false,
      ok: true,
    });
    expect(m.errorRate).toBeCloseTo(2 / 101, 12);
    expect(m.ageDays).toBeCloseTo(13.5, 6);
    expect(m.latencyMs.p50).toBeCloseTo(50, 6); // numpy.percentile of 1, 1, 2, ..., 100
    // Predictions of the 99 successful requests (2 rows each: 0.3 and 0.7).
    expect(m.predictions.score).toMatchObject({ count: 198, p10: 0.3, p90: 0.7 });
    expect(m.predictions.score.mean).toBeCloseTo(0.5, 12);
    const text = await mlo(dir, 'monitor', 'status', '--log', 'serve.log', '--now', now);
    expect(text.stdout).toMatch(/churn\s+3\s+101\s+2\.0%\s+50\.0\s+\S+\s+\S+\s+2026-11-20T10:59:00\.000Z\s+13\.5d\s+ok/);
  });

  it('exits 1 when the model is stale or the error rate is too high', async () => {
    const dir = tempDir();
    log(dir, [serveLine({ ts: '2026-09-01T00:00:00Z' }), serveLine({ ts: '2026-11-22T00:00:00Z', status: 503 })]);
    const r = await mlo(dir, 'monitor', 'status', '--log', 'serve.log', '--now', now, '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).models[0]).toMatchObject({
      stale: true,
      errorRateExceeded: true,
      ok: false,
      problems: [expect.stringMatching(/^version 3 is 83\.5d old \(limit 30d\)$/), 'error rate 50.0% > 5.0%'],
    });
    const since = await mlo(dir, 'monitor', 'status', '--log', 'serve.log', '--now', now, '--since', '2026-11-20', '--max-error-rate', '0.6', '--json');
    expect(since.exitCode, explain(since)).toBe(0);
    const window = await mlo(dir, 'monitor', 'status', '--log', 'serve.log', '--now', now, '--since', '2026-11-20', '--window', '7d', '--json');
    expect(json(window).models[0]).toMatchObject({ requests: 1, errors: 1 });
    const other = await mlo(dir, 'monitor', 'status', '--log', 'serve.log', '--model', 'nope');
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toMatch(/error: serve\.log: no requests for model 'nope'/);
    const dur = await mlo(dir, 'monitor', 'status', '--log', 'serve.log', '--max-age', '30 days');
    expect(dur.exitCode).toBe(2);
    expect(dur.stderr).toMatch(/--max-age '30 days' is not a duration/);
  });

  it('ignores the half-written last line of a log that is being appended to', async () => {
    const dir = tempDir();
    writeTree(dir, { 'serve.log': `${serveLine({ ts: '2026-11-22T00:00:00Z' })}\n${serveLine({ ts: '2026-11-22T00:00:01Z' }).slice(0, 40)}` });
    const r = await mlo(dir, 'monitor', 'status', '--log', 'serve.log', '--now', now, '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(json(r).models[0].requests).toBe(1);
  });

  it('names the line of a malformed serve-log record', async () => {
    const dir = tempDir();
    log(dir, [serveLine({ ts: '2026-11-01T00:00:00Z' }), JSON.stringify({ ts: 'yesterday', model: 'churn', status: 200 }), JSON.stringify({ model: 'x' })]);
    const r = await mlo(dir, 'monitor', 'status', '--log', 'serve.log');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: serve\.log:2: ts: 'yesterday' is not an ISO 8601 time/);
  });
});
