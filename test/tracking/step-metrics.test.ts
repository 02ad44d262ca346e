/**
 * Step metrics ($MLO_METRICS_FILE, `{"step": N, "name": value}` lines) and a metrics file's final
 * values: a name used by both is kept as two metrics (the series as `NAME (steps)`), with a warning,
 * never one series that ends in a spike at step 0.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, makeRepo, mlo } from '../helpers.js';

const SERIES = 'printf \'{"step": 1, "acc": 0.5, "loss": 0.9}\\n{"step": 2, "acc": 0.7, "loss": 0.4}\\n\' >> "$MLO_METRICS_FILE"';

function runFile(dir: string, id: string): { metrics: Record<string, { step: number[]; value: number[] }> } {
  return JSON.parse(readFileSync(join(dir, '.mlo/tracking/runs', `${id}.json`), 'utf8'));
}

describe('a metric name that is both a step series and a final value', () => {
  it('is recorded as two metrics, the series as NAME (steps), with a warning', async () => {
    const dir = await makeRepo({});
    const cmd = `${SERIES}; echo '{"acc": 0.9}' > metrics.json`;
    expect((await mlo(dir, 'stage', 'add', '-n', 's', '-M', 'metrics.json', '--', cmd)).exitCode).toBe(0);
    const r = await mlo(dir, 'run');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      "warning: metric 'acc' is both a step series and a value in metrics.json: the series is recorded as 'acc (steps)', the value as 'acc'",
    );
    expect(r.stderr).not.toContain("metric 'loss'");

    const show = json(await mlo(dir, 'exp', 'show', '--json'));
    expect(show.columns.metrics).toEqual(['acc', 'acc (steps)', 'loss']);
    expect(show.runs[0].metrics).toEqual({ acc: 0.9, 'acc (steps)': 0.7, loss: 0.4 });
    const [file] = readdirSync(join(dir, '.mlo/tracking/runs'));
    const { metrics } = runFile(dir, file.replace(/\.json$/, ''));
    expect(metrics.acc).toMatchObject({ step: [0], value: [0.9] });
    expect(metrics['acc (steps)']).toMatchObject({ step: [1, 2], value: [0.5, 0.7] });
    expect(metrics.loss).toMatchObject({ step: [1, 2], value: [0.9, 0.4] });
  });

  it('is split the same way when the metrics file comes from an earlier stage', async () => {
    const dir = await makeRepo({});
    await mlo(dir, 'stage', 'add', '-n', 'a', '-M', 'metrics.json', '--', `echo '{"acc": 0.9}' > metrics.json`);
    await mlo(dir, 'stage', 'add', '-n', 'b', '-d', 'metrics.json', '--', SERIES);
    const r = await mlo(dir, 'run');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain("the series is recorded as 'acc (steps)'");
    const show = json(await mlo(dir, 'exp', 'show', '--json'));
    expect(show.runs[0].metrics).toEqual({ acc: 0.9, 'acc (steps)': 0.7, loss: 0.4 });
  });
});
