import { describe, expect, it } from 'vitest';
import { renderCiMarkdown } from './markdown.js';
import { failsOn } from './report.js';
import type { CiReport } from './types.js';

function report(over: Partial<Omit<CiReport, 'markdown'>> = {}): Omit<CiReport, 'markdown'> {
  return {
    base: { rev: 'main', sha: 'a'.repeat(40) },
    head: { rev: 'workspace', sha: null },
    metrics: null,
    gates: null,
    params: null,
    validation: [],
    drift: [],
    pipeline: null,
    plotsUrl: null,
    failed: [],
    ...over,
  };
}

describe('renderCiMarkdown', () => {
  it('shows data values as code spans, whatever backticks, pipes or HTML they hold', () => {
    const md = renderCiMarkdown(
      report({
        failed: ['validation'],
        validation: [
          {
            data: 'd.csv',
            schema: 's.yaml',
            ok: false,
            report: {
              file: 'd.csv',
              schema: 's.yaml',
              format: 'csv',
              rows: 3,
              columns: 1,
              ok: false,
              violations: [
                {
                  column: 'c',
                  rule: 'categories',
                  expected: 'one of a',
                  count: 3,
                  examples: [
                    { row: 1, value: 'x`y' },
                    { row: 2, value: '<b>|' },
                    { row: 3, value: '' },
                  ],
                },
              ],
            },
          },
        ],
      }),
    );
    expect(md).toContain('| `c` | categories | 3 | one of a | row 1: ``x`y``, row 2: `<b>\\|`, row 3: (empty) |');
  });

  it('puts a multi-line error on one line, with its hint', () => {
    const md = renderCiMarkdown(
      report({
        failed: ['pipeline'],
        pipeline: { ok: false, stages: [], changed: [], stale: [], error: { code: 'MLO_BAD_YAML', message: 'mlo.yaml:2: bad\n  | x\n  ^', hint: 'fix it' } },
      }),
    );
    expect(md).toContain('### Pipeline\n\n❌ could not read the pipeline: mlo.yaml:2: bad | x ^ (fix it)\n');
    expect(md).toContain('Comparing the workspace with `main` (`aaaaaaa`).');
  });

  it('tables the metric gates with the result of each', () => {
    const gate = { file: 'metrics.json', better: 'higher' as const, worsening: null };
    const md = renderCiMarkdown(
      report({
        failed: ['metrics'],
        gates: {
          ok: false,
          results: [
            { ...gate, metric: 'acc', key: 'acc', threshold: 0.01, base: 0.9, workspace: 0.85, worsening: 0.05, status: 'regressed', ok: false },
            { ...gate, metric: 'f1', key: 'f1', threshold: '2%', base: 0.5, workspace: 0.5, worsening: 0, status: 'passed', ok: true },
            { ...gate, file: null, metric: 'auc', key: 'auc', threshold: 0, base: null, workspace: null, status: 'not-found', ok: false },
          ],
        },
      }),
    );
    expect(md).toContain(
      [
        '### Metric gates',
        '',
        '| Metric | Better | Threshold | main | workspace | Result |',
        '|---|---|---|---|---|---|',
        '| `metrics.json:acc` | higher | 0.01 | 0.9 | 0.85 | ❌ regressed |',
        '| `metrics.json:f1` | higher | 2% | 0.5 | 0.5 | ✅ passed |',
        '| `auc` | higher | 0 | - | - | ❌ no such metric at either revision |',
      ].join('\n'),
    );
  });
});

describe('failsOn', () => {
  it('fails only on the named sections, or any with --fail-on any', () => {
    expect(failsOn({ failed: ['drift'] }, undefined)).toBe(false);
    expect(failsOn({ failed: ['drift'] }, ['drift'])).toBe(true);
    expect(failsOn({ failed: ['drift'] }, ['validation'])).toBe(false);
    expect(failsOn({ failed: ['pipeline'] }, ['metrics', 'pipeline'])).toBe(true);
    expect(failsOn({ failed: ['metrics'] }, ['any'])).toBe(true);
    expect(failsOn({ failed: [] }, ['any'])).toBe(false);
  });
});
