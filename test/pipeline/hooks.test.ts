/** runPipeline's hooks, in process: what the tracking module sees and the env it can add. */
import { describe, expect, it } from 'vitest';
import { repoAt } from '../../src/core/repo/repo.js';
import type { PipelineHooks, StageEndResult, StageStartInfo } from '../../src/core/pipeline/hooks.js';
import { runPipeline } from '../../src/core/pipeline/run.js';
import { makeRepo, read } from '../helpers.js';

const YAML = `stages:
  prepare:
    cmd: echo "$MLO_RUN_ID $MLO_EXTRA" > data.txt
    deps: [in.txt]
    outs: [data.txt]
  evaluate:
    cmd: >-
      echo '{"acc": 1}' > metrics.json
    deps: [data.txt]
    params: [lr]
    metrics:
      - metrics.json: {cache: false}
`;

function recorder() {
  const calls: string[] = [];
  const ends: [StageStartInfo, StageEndResult][] = [];
  const hooks: PipelineHooks = {
    async onRunStart(info) {
      calls.push(`run-start ${info.stages.join(',')}`);
      return { MLO_RUN_ID: 'run-42' };
    },
    async onStageStart(stage) {
      calls.push(`stage-start ${stage.name}`);
      return { MLO_EXTRA: `extra-${stage.name}` };
    },
    async onStageEnd(stage, result) {
      calls.push(`stage-end ${stage.name} ${result.status}`);
      ends.push([stage, result]);
    },
    async onRunEnd(summary) {
      calls.push(`run-end ${summary.ok}`);
    },
  };
  return { calls, ends, hooks };
}

describe('pipeline hooks', () => {
  it('are called around each stage that runs, and their env reaches the command', async () => {
    const dir = await makeRepo({ 'mlo.yaml': YAML, 'in.txt': 'x', 'params.yaml': 'lr: 0.1\n' });
    const repo = repoAt(dir);
    const rec = recorder();
    const result = await runPipeline(repo, { hooks: rec.hooks, baseEnv: { PATH: process.env.PATH } });
    expect(result.ok).toBe(true);
    expect(rec.calls).toEqual([
      'run-start prepare,evaluate',
      'stage-start prepare',
      'stage-end prepare succeeded',
      'stage-start evaluate',
      'stage-end evaluate succeeded',
      'run-end true',
    ]);
    expect(read(dir, 'data.txt')).toBe('run-42 extra-prepare\n');
    const [stage, end] = rec.ends[1];
    expect(stage.metricsFiles).toEqual(['metrics.json']);
    expect(end.params).toEqual({ 'params.yaml': { lr: 0.1 } });
    expect(end.deps).toEqual([{ path: 'data.txt', hash: expect.any(String), size: 21 }]);
    expect(end.outs).toEqual([{ path: 'metrics.json', hash: expect.any(String), size: 11, cache: false }]);

    // Nothing to run: no hooks at all, unless asked for.
    const quiet = recorder();
    await runPipeline(repo, { hooks: quiet.hooks });
    expect(quiet.calls).toEqual([]);
    const always = recorder();
    await runPipeline(repo, { hooks: always.hooks, hooksOnNoop: true });
    expect(always.calls).toEqual(['run-start prepare,evaluate', 'run-end true']);
  });

  it('report a failed stage and a failed run', async () => {
    const dir = await makeRepo({ 'mlo.yaml': 'stages:\n  bad:\n    cmd: exit 4\n    outs: [x]\n' });
    const rec = recorder();
    const result = await runPipeline(repoAt(dir), { hooks: rec.hooks });
    expect(result.ok).toBe(false);
    expect(rec.calls).toEqual(['run-start bad', 'stage-start bad', 'stage-end bad failed', 'run-end false']);
    expect(rec.ends[0][1]).toMatchObject({ status: 'failed', exitCode: 4, outs: [] });
  });
});
