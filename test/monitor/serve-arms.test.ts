/**
 * Monitoring an A/B test from what `mlo serve` really writes: two registered versions of one model,
 * packaged with the feature names f1, f2, f3, served with `--split churn@1=50,churn@2=50` under traffic.
 * The log names the features, so drift matches them to the training columns; both `monitor status` and
 * the drift report read each arm apart; a log written before serve named features (`x[0]..x[2]`) is
 * mapped by the registered contract, and a drift run that compares nothing fails.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, json, makeRepo, mlo, tempDir, writeTree } from '../helpers.js';
import { LINEAR, LINEAR_V2, post, serve, type Served } from '../model/fixtures.js';

let repo: string;
let s: Served | undefined;

/** The training data: an id column first, then the three features in another order than the model's. */
function training(): string {
  const lines = ['id,f3,f1,f2'];
  for (let i = 0; i < 300; i++) lines.push(`${1000 + i},${(i % 11) / 11},${(i % 17) / 17},${(i % 13) / 13}`);
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  repo = await makeRepo({ 'v1.onnx': LINEAR, 'v2.onnx': LINEAR_V2, 'train.csv': training() }, { commit: true });
  for (const f of ['v1.onnx', 'v2.onnx']) {
    const p = await mlo(repo, 'model', 'package', f, '--name', 'churn', '--columns', 'f1,f2,f3');
    if (p.exitCode !== 0) throw new Error(p.stderr);
    const r = await mlo(repo, 'model', 'register', 'models/churn');
    if (r.exitCode !== 0) throw new Error(r.stderr);
  }
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-qm', 'two versions');
  s = await serve(repo, ['--split', 'churn@1=50,churn@2=50', '--log', 'serve.jsonl', '--log-sample', '1']);
  for (let i = 0; i < 40; i++) {
    // Production data: f1 has moved to around 5; f2 and f3 are as in training.
    const rows = [0, 1, 2].map((j) => [5 + ((i + j) % 7) / 7, ((i * 3 + j) % 13) / 13, ((i + 2 * j) % 11) / 11]);
    const r = await post(`${s.url}/invocations`, { inputs: rows });
    expect(r.status).toBe(200);
  }
  // Two malformed requests: the round robin sends one to each arm.
  for (let i = 0; i < 2; i++) expect((await post(`${s.url}/invocations`, { inputs: [[1]] })).status).toBe(400);
  await s.stop();
  s = undefined;
}, 120_000);

afterAll(async () => {
  await s?.stop();
});

describe('monitoring a 50/50 split served by mlo serve', () => {
  it('logs the inputs under the feature names of the model contract', () => {
    const first = JSON.parse(readFileSync(join(repo, 'serve.jsonl'), 'utf8').split('\n')[0]);
    expect(Object.keys(first.inputs)).toEqual(['f1', 'f2', 'f3']);
    expect(first.inputs.f1).toHaveLength(3);
  });

  it('monitor status has one entry per arm, with counts, errors, latency and predictions', async () => {
    const r = await mlo(repo, 'monitor', 'status', '--log', 'serve.jsonl', '--json');
    const arms = json(r).models;
    expect(arms.map((a: { arm: string; requests: number; errors: number; current: boolean }) => [a.arm, a.requests, a.errors, a.current])).toEqual([
      ['churn@1', 21, 1, true],
      ['churn@2', 21, 1, true],
    ]);
    for (const a of arms) {
      expect(a.latencyMs.p50).toBeGreaterThanOrEqual(0);
      expect(a.latencyMs.p99).toBeGreaterThanOrEqual(a.latencyMs.p50);
      expect(a.predictions['y[0]'].count).toBe(60);
    }
    // Version 1 answers x0 + x2 + 0.5, version 2 answers 2 * x0: about 6 and 11 for f1 around 5.
    const [one, two] = arms.map((a: { predictions: Record<string, { mean: number }> }) => a.predictions['y[0]'].mean);
    expect(one).toBeGreaterThan(5.5);
    expect(one).toBeLessThan(7);
    expect(two).toBeGreaterThan(10);
    // 1 error in 21 requests is 4.8%, under the default 5% limit.
    expect(r.exitCode).toBe(0);
    const text = await mlo(repo, 'monitor', 'status', '--log', 'serve.jsonl');
    expect(text.stdout).toMatch(/churn\s+1\s+21\s+4\.8%/);
    expect(text.stdout).toMatch(/churn\s+2\s+21\s+4\.8%/);
    expect(text.stdout).toMatch(/Predictions by arm:\n.*\n\s+churn@1\s+y\[0\]\s+60\s/);
  });

  it('monitor drift matches the logged features to the training columns by name, overall and per arm', async () => {
    const r = await mlo(repo, 'monitor', 'drift', '--reference', 'train.csv', '--current', 'serve.jsonl', '--json');
    expect(r.exitCode, r.stderr).toBe(1);
    const report = json(r);
    expect(report.features.map((f: { column: string }) => f.column)).toEqual(['f3', 'f1', 'f2']);
    expect(report.compared).toBe(3);
    const drifted = report.features.filter((f: { drifted: boolean }) => f.drifted).map((f: { column: string }) => f.column);
    expect(drifted).toContain('f1');
    expect(report.skipped).toContainEqual({ column: 'id', reason: expect.stringMatching(/^id-like: every value is a distinct integer/) });
    expect(report.arms.map((a: { version: number; rows: number; compared: number }) => [a.version, a.rows, a.compared])).toEqual([
      [1, 60, 3],
      [2, 60, 3],
    ]);
    for (const arm of report.arms) expect(arm.features.find((f: { column: string }) => f.column === 'f1').drifted).toBe(true);

    const text = await mlo(repo, 'monitor', 'drift', '--reference', 'train.csv', '--current', 'serve.jsonl', '--html', 'drift.html');
    expect(text.stdout).toMatch(/^DRIFT \d of 3 columns drifted/);
    expect(text.stdout).toContain('3 columns compared, ');
    expect(text.stdout).toMatch(/not compared: id \(id-like/);
    expect(text.stdout).toMatch(/churn@1\s+60\s+\d of 3\s+yes: .*f1/);
    expect(text.stdout).toMatch(/churn@2\s+60\s+\d of 3\s+yes: .*f1/);
    const html = readFileSync(join(repo, 'drift.html'), 'utf8');
    expect(html).toContain('<p>3 columns compared, ');
    expect(html).toContain('<h2>By model version</h2>');
  });

  it('reads an older log that names input[i] by the registered contract, with a note; outside the repository it compares nothing and fails', async () => {
    // What serve wrote before it logged feature names: the one input x as rows.
    const old = readFileSync(join(repo, 'serve.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => {
        const rec = JSON.parse(line);
        if (rec.inputs.f1) rec.inputs = { x: rec.inputs.f1.map((v: number, i: number) => [v, rec.inputs.f2[i], rec.inputs.f3[i]]) };
        return JSON.stringify(rec);
      });
    writeFileSync(join(repo, 'old.jsonl'), `${old.join('\n')}\n`);
    const r = await mlo(repo, 'monitor', 'drift', '--reference', 'train.csv', '--current', 'old.jsonl', '--json');
    expect(r.exitCode, r.stderr).toBe(1);
    const report = json(r);
    expect(report.compared).toBe(3);
    expect(report.notes).toEqual([
      "old.jsonl: x[0..2] of churn@1 read as f1, f2, f3 by position (the version's feature contract)",
      "old.jsonl: x[0..2] of churn@2 read as f1, f2, f3 by position (the version's feature contract)",
    ]);

    const outside = tempDir();
    copyFileSync(join(repo, 'old.jsonl'), join(outside, 'old.jsonl'));
    copyFileSync(join(repo, 'train.csv'), join(outside, 'train.csv'));
    const none = await mlo(outside, 'monitor', 'drift', '--reference', 'train.csv', '--current', 'old.jsonl');
    expect(none.exitCode).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(
      /^error: no column compared: train\.csv has id, f3, f1, f2; old\.jsonl has x\[0\], x\[1\], x\[2\], prediction\.y\[0\], prediction\.y\[1\]/,
    );
    const j = await mlo(outside, 'monitor', 'drift', '--reference', 'train.csv', '--current', 'old.jsonl', '--json');
    expect(json(j).error.code).toBe('MLO_NOTHING_COMPARED');
  });

  it('a CSV that shares no column with the reference is an error too, never OK', async () => {
    const dir = tempDir();
    writeTree(dir, { 'a.csv': 'p,q\n1,2\n3,4\n', 'b.csv': 'r,s\n1,2\n3,4\n' });
    const r = await mlo(dir, 'monitor', 'drift', '--reference', 'a.csv', '--current', 'b.csv');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^error: no column compared: a\.csv has p, q; b\.csv has r, s/);
  });
});
