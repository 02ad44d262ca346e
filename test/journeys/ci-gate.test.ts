/**
 * Journey (b): a CI job gating a pull request, on the built binary and default settings. A developer
 * pushes main and feature branches to a bare git remote and their data to a folder remote; the CI job
 * is a fresh clone that pulls, gates on `mlo status --exit-code`, and runs `mlo ci report --fail-on`
 * against the base branch: a metric regression beyond its mlo.yaml gate fails naming the metric, one
 * within it passes, and a stage left stale (params edited, not re-run) fails.
 *
 * The gated metrics file is `cache: false`: metrics cached at another revision are read through that
 * revision's mlo.lock by another change, and this journey must not depend on it.
 */
import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, GIT_ENV, json, makeRepo, mlo, read, tempDir, writeTree, exists, type MloResult } from '../helpers.js';

function explain(r: MloResult): string {
  return `exit ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

function expectExit(r: MloResult, code: number): MloResult {
  expect(r.exitCode, explain(r)).toBe(code);
  return r;
}

const PIPELINE = `stages:
  train:
    cmd: sh train.sh
    deps: [train.sh, data/raw.csv]
    params: [quality]
    outs: [model.bin]
    metrics:
      - metrics.json: {cache: false}
gates:
  acc: {better: higher, threshold: 0.02}
`;

// acc is the quality param, so each branch sets the metric it will report.
const TRAIN = `q=$(sed -n 's/^quality: //p' params.yaml)
printf '{"acc": %s, "rows": %s}\\n' "$q" "$(wc -l < data/raw.csv | tr -d ' ')" > metrics.json
{ cat data/raw.csv; echo "model $q"; } > model.bin
`;

/** The developer's repository: main at acc 0.9 pushed to `origin` (git) and `storage` (data). */
async function developer(): Promise<{ dev: string; origin: string }> {
  const origin = join(tempDir('mlo-origin-'), 'origin.git');
  await execa('git', ['init', '-q', '--bare', '-b', 'main', origin]);
  const storage = tempDir('mlo-storage-');
  const dev = await makeRepo({ 'data/raw.csv': 'x,y\n1,2\n3,4\n', 'params.yaml': 'quality: 0.9\n', 'train.sh': TRAIN, 'mlo.yaml': PIPELINE });
  expectExit(await mlo(dev, 'remote', 'add', '-d', 'storage', storage), 0);
  expectExit(await mlo(dev, 'add', 'data/raw.csv'), 0);
  expectExit(await mlo(dev, 'run'), 0);
  await commitAndPush(dev, 'main', 'train at quality 0.9');
  expectExit(await mlo(dev, 'push'), 0);
  return { dev, origin };

  async function commitAndPush(dir: string, branch: string, message: string) {
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', message);
    await git(dir, 'remote', 'add', 'origin', origin);
    await git(dir, 'push', '-q', 'origin', branch);
  }
}

/** A feature branch off main with `quality` set, run, committed, pushed (git and data). */
async function feature(dev: string, branch: string, quality: string): Promise<void> {
  await git(dev, 'checkout', '-q', '-b', branch, 'main');
  expectExit(await mlo(dev, 'checkout'), 0);
  writeTree(dev, { 'params.yaml': `quality: ${quality}\n` });
  expectExit(await mlo(dev, 'run'), 0);
  await git(dev, 'add', '-A');
  await git(dev, 'commit', '-q', '-m', `quality ${quality}`);
  await git(dev, 'push', '-q', 'origin', branch);
  expectExit(await mlo(dev, 'push'), 0);
}

/** What a CI runner does first: a fresh clone of the branch, then `mlo pull`. */
async function ciClone(origin: string, branch: string): Promise<string> {
  const ci = join(tempDir('mlo-ci-'), 'checkout');
  await execa('git', ['clone', '-q', '--branch', branch, origin, ci], { env: GIT_ENV });
  return ci;
}

describe('journey (b): a CI job gates a pull request', () => {
  it('fresh clone: status suggests a pull and fails the gate; after mlo pull the gate passes and a change within the gate passes', async () => {
    const { dev, origin } = await developer();
    await feature(dev, 'small-dip', '0.89');
    const ci = await ciClone(origin, 'small-dip');

    // Nothing pulled yet: out of date, and the way out is a pull, not a re-run.
    const before = expectExit(await mlo(ci, 'status', '--exit-code'), 1);
    expect(before.stdout).toContain('mlo pull');
    expect(before.stdout).not.toContain('mlo run updates them');
    const beforeDoc = json(await mlo(ci, '--json', 'status'));
    expect(beforeDoc.clean).toBe(false);
    expect(beforeDoc.stages).toEqual([expect.objectContaining({ name: 'train', action: 'pull', stale: false })]);

    const pull = expectExit(await mlo(ci, 'pull'), 0);
    expect(read(ci, 'model.bin')).toBe('x,y\n1,2\n3,4\nmodel 0.89\n');
    expect(exists(ci, 'data/raw.csv'), explain(pull)).toBe(true);

    // Clean: the gate passes; -q is `dvc status -q`, the exit code alone.
    expect(expectExit(await mlo(ci, 'status', '--exit-code'), 0).stdout).toContain('Pipeline is up to date (1 stage).');
    expect(expectExit(await mlo(ci, 'status', '-q'), 0).stdout).toBe('');

    // 0.9 -> 0.89 is within the gate's 0.02: the report passes even on --fail-on any.
    const report = expectExit(await mlo(ci, 'ci', 'report', '--base', 'origin/main', '--fail-on', 'any'), 0);
    expect(report.stdout).toContain('| `metrics.json:acc` | higher | 0.02 | 0.9 | 0.89 | ✅ passed |');
    const doc = json(await mlo(ci, '--json', 'ci', 'report', '--base', 'origin/main', '--fail-on', 'metrics,pipeline'));
    expect(doc.failed).toEqual([]);
    expect(doc.gates.results).toEqual([
      expect.objectContaining({ metric: 'acc', file: 'metrics.json', base: 0.9, workspace: 0.89, status: 'passed', ok: true }),
    ]);
    expect(doc.pipeline).toMatchObject({ ok: true, stale: [] });
  });

  it('a regression beyond the gate fails the report, naming the metric; --gate on the command line overrides mlo.yaml', async () => {
    const { dev, origin } = await developer();
    await feature(dev, 'worse', '0.8');
    const ci = await ciClone(origin, 'worse');
    expectExit(await mlo(ci, 'pull'), 0);
    expectExit(await mlo(ci, 'status', '--exit-code'), 0);

    const report = expectExit(await mlo(ci, 'ci', 'report', '--base', 'origin/main', '--fail-on', 'metrics'), 1);
    expect(report.stdout).toContain('❌ **Failed: metrics.**');
    expect(report.stdout).toContain('| `metrics.json:acc` | higher | 0.02 | 0.9 | 0.8 | ❌ regressed |');
    expect(report.stderr).toContain('metrics.json:acc regressed');
    const doc = json(await mlo(ci, '--json', 'ci', 'report', '--base', 'origin/main', '--fail-on', 'metrics'));
    expect(doc.failed).toEqual(['metrics']);
    expect(doc.gates.results[0]).toMatchObject({ metric: 'acc', status: 'regressed', ok: false });
    expect(doc.gates.results[0].worsening).toBeCloseTo(0.1);
    // Sections not asked about do not fail the job.
    expectExit(await mlo(ci, 'ci', 'report', '--base', 'origin/main', '--fail-on', 'pipeline'), 0);
    // A looser gate given for this run wins over mlo.yaml's; a percentage is a share of the base value.
    expectExit(await mlo(ci, 'ci', 'report', '--base', 'origin/main', '--fail-on', 'metrics', '--gate', 'acc=higher:0.15'), 0);
    expectExit(await mlo(ci, 'ci', 'report', '--base', 'origin/main', '--fail-on', 'metrics', '--gate', 'acc=higher:10%'), 1);
    // A gate on a metric no revision has fails instead of passing in silence.
    const missing = expectExit(await mlo(ci, 'ci', 'report', '--base', 'origin/main', '--fail-on', 'metrics', '--gate', 'auc=higher'), 1);
    expect(missing.stdout).toContain('| `auc` | higher | 0 | - | - | ❌ no such metric at either revision |');
  });

  it('a stage left stale (params edited, not re-run) fails the status gate and --fail-on pipeline', async () => {
    const { origin } = await developer();
    const ci = await ciClone(origin, 'main');
    expectExit(await mlo(ci, 'pull'), 0);
    writeTree(ci, { 'params.yaml': 'quality: 0.95\n' });

    const status = expectExit(await mlo(ci, 'status', '--exit-code'), 1);
    expect(status.stdout).toContain('Changed stages (1 of 1; mlo run updates them):');
    expect(status.stdout).toContain('train');
    expect(expectExit(await mlo(ci, 'status', '-q'), 1).stdout).toBe('');

    const report = expectExit(await mlo(ci, 'ci', 'report', '--base', 'origin/main', '--fail-on', 'pipeline'), 1);
    expect(report.stdout).toContain('❌ 1 of 1 stage stale');
    expect(report.stderr).toContain('train');
    expectExit(await mlo(ci, 'ci', 'report', '--base', 'origin/main', '--fail-on', 'any'), 1);
    expect(json(await mlo(ci, '--json', 'ci', 'report', '--base', 'origin/main')).pipeline).toMatchObject({ ok: false, stale: ['train'] });

    // Running the stage clears both gates (the params change itself is news, not a failure).
    expectExit(await mlo(ci, 'run'), 0);
    expectExit(await mlo(ci, 'status', '--exit-code'), 0);
    expectExit(await mlo(ci, 'ci', 'report', '--base', 'origin/main', '--fail-on', 'pipeline,metrics'), 0);
  });

  it('--fail-on metrics without any gate is a usage error, not a silent pass', async () => {
    const dir = await makeRepo({ 'metrics.json': '{"acc": 1}\n' }, { commit: true });
    const r = expectExit(await mlo(dir, 'ci', 'report', '--fail-on', 'metrics'), 2);
    expect(r.stderr).toContain('--fail-on metrics needs at least one metric gate');
    expect(expectExit(await mlo(dir, 'ci', 'report', '--fail-on', 'metric'), 2).stderr).toContain(
      '--fail-on must be one of metrics, pipeline, drift, validation, any',
    );
    expect(expectExit(await mlo(dir, 'ci', 'report', '--gate', 'acc=up'), 2).stderr).toContain('--gate expects METRIC=higher|lower[:THRESHOLD]');
  });
});
