import { describe, expect, it } from 'vitest';
import type { DriftReport, FeatureDrift } from './drift.js';
import { renderDriftHtml } from './html.js';

function feature(column: string, drifted: boolean, type: FeatureDrift['type']): FeatureDrift {
  return {
    column,
    role: 'feature',
    type,
    reference: { count: 10, missing: 0, nan: 0 },
    current: { count: 10, missing: 0, nan: 0 },
    psi: type === 'numeric' ? 0.5 : undefined,
    js: type === 'categorical' ? 0.3 : undefined,
    drifted,
    reasons: drifted ? ['psi 0.5 >= 0.2'] : [],
    histogram: type === 'numeric' ? { edges: [0, 1, 2], reference: [5, 5], current: [1, 9] } : { labels: ['<b>', 'x'], reference: [3, 7], current: [9, 1] },
  };
}

const report: DriftReport = {
  reference: { file: 'train.csv', format: 'csv', rows: 10 },
  current: { file: 'prod & co.csv', format: 'csv', rows: 10 },
  settings: {
    tests: ['psi', 'ks', 'chi2', 'js'],
    psiThreshold: 0.2,
    psiBins: 10,
    ksP: 0.05,
    chi2P: 0.05,
    jsThreshold: 0.1,
    maxNumericCategories: 5,
    driftShare: null,
  },
  features: [feature('<script>alert(1)</script>', true, 'numeric'), feature('plan', true, 'categorical'), feature('calm', false, 'numeric')],
  skipped: [{ column: 'extra', reason: 'not in train.csv' }],
  notes: [],
  drifted: 2,
  compared: 3,
  share: 2 / 3,
  predictionDrift: false,
  drift: true,
};

describe('HTML drift report', () => {
  const html = renderDriftHtml(report, new Date('2026-11-23T00:00:00Z'));

  it('is one self-contained page: no scripts, no links to the network', () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script/i);
    expect(html.match(/https?:\/\/[^"]*/g) ?? []).toEqual(['http://www.w3.org/2000/svg', 'http://www.w3.org/2000/svg']);
  });

  it('escapes names and shows one histogram per drifted column', () => {
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('prod &amp; co.csv');
    expect(html).toContain('&lt;b&gt;');
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('<span class="bad">Drift detected</span>: 2 of 3 columns drifted');
    expect(html).toContain('<li><code>extra</code>: not in train.csv</li>');
  });
});
