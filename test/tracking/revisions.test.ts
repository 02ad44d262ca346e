import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, makeRepo, mlo } from '../helpers.js';
import { trainingRepo } from './fixture.js';

/** main: acc 0.8, loss 0.5; feature: acc 0.9, loss 0.4, and a new metric. */
async function branchedRepo(): Promise<string> {
  const dir = await makeRepo(
    {
      'metrics.json': JSON.stringify({ acc: 0.8, train: { loss: 0.5 }, note: 'base' }),
      'params.yaml': 'lr: 0.1\nlayers: [32, 16]\n',
    },
    { commit: true },
  );
  await git(dir, 'checkout', '-q', '-b', 'feature');
  writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ acc: 0.9, train: { loss: 0.4 }, note: 'base', f1: 0.7 }));
  writeFileSync(join(dir, 'params.yaml'), 'lr: 0.05\nlayers: [64, 16]\n');
  await git(dir, 'commit', '-q', '-am', 'better');
  await git(dir, 'checkout', '-q', 'main');
  return dir;
}

describe('mlo metrics', () => {
  it('diff between branches reads git objects and gives deltas and percentages', async () => {
    const dir = await branchedRepo();
    const r = await mlo(dir, 'metrics', 'diff', 'main', 'feature', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const d = json(r);
    expect(d.a).toMatchObject({ rev: 'main', sha: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(d.diff).toEqual([
      { file: 'metrics.json', key: 'acc', old: 0.8, new: 0.9, change: expect.closeTo(0.1, 9), pct: expect.closeTo(12.5, 6) },
      { file: 'metrics.json', key: 'f1', old: null, new: 0.7, change: null, pct: null },
      { file: 'metrics.json', key: 'train.loss', old: 0.5, new: 0.4, change: expect.closeTo(-0.1, 9), pct: expect.closeTo(-20, 6) },
    ]);
    const all = json(await mlo(dir, 'metrics', 'diff', 'main', 'feature', '--all', '--json'));
    expect(all.diff.map((x: { key: string }) => x.key)).toContain('note');

    const md = await mlo(dir, 'metrics', 'diff', 'main', 'feature', '--md');
    expect(md.stdout.split('\n').slice(0, 3)).toEqual([
      '| Path | Metric | main | feature | Change | % |',
      '|---|---|---|---|---|---|',
      '| metrics.json | acc | 0.8 | 0.9 | +0.1 | +12.5% |',
    ]);
  });

  it('diff defaults to HEAD against the workspace', async () => {
    const dir = await branchedRepo();
    expect((await mlo(dir, 'metrics', 'diff')).stdout).toMatch(/No metric changed between HEAD and workspace/);
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ acc: 0.6, train: { loss: 0.5 }, note: 'base' }));
    const d = json(await mlo(dir, 'metrics', 'diff', '--json'));
    expect(d.b.rev).toBe('workspace');
    expect(d.diff).toEqual([{ file: 'metrics.json', key: 'acc', old: 0.8, new: 0.6, change: expect.closeTo(-0.2, 9), pct: expect.closeTo(-25, 6) }]);
  });

  it('uses the metrics files mlo.yaml declares at each revision', async () => {
    const dir = await trainingRepo();
    await mlo(dir, 'run');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'run');
    await git(dir, 'tag', 'v1');
    await mlo(dir, 'exp', 'run', '-S', 'lr=0.3');
    const d = json(await mlo(dir, 'metrics', 'diff', 'v1', '--json'));
    expect(d.diff.map((x: { key: string; new: number }) => [x.key, x.new])).toEqual([['acc', 0.73]]);
    const show = json(await mlo(dir, 'metrics', 'show', '--json'));
    expect(show.revisions[0]).toMatchObject({ rev: 'workspace', files: { 'metrics.json': { acc: 0.73, 'eval.status': 'ok' } } });
  });

  it('show --all-branches lists every branch', async () => {
    const dir = await branchedRepo();
    const show = json(await mlo(dir, 'metrics', 'show', '--all-branches', '--json'));
    expect(show.revisions.map((r: { rev: string }) => r.rev)).toEqual(['workspace', 'feature', 'main']);
    expect(show.revisions[1].files['metrics.json'].f1).toBe(0.7);
  });

  it('an unknown revision or a broken metrics file is an error naming it', async () => {
    const dir = await branchedRepo();
    const r = await mlo(dir, 'metrics', 'diff', 'main', 'nope', '--json');
    expect(r.exitCode).toBe(1);
    expect(json(r).error).toMatchObject({ code: 'MLO_UNKNOWN_REV', message: "unknown git revision 'nope'" });

    await git(dir, 'checkout', '-q', '-b', 'broken');
    writeFileSync(join(dir, 'metrics.json'), '{\n  "acc": 0.9,\n  "loss": nan\n}\n');
    await git(dir, 'commit', '-q', '-am', 'broken');
    await git(dir, 'checkout', '-q', 'main');
    const b = await mlo(dir, 'metrics', 'diff', 'main', 'broken');
    expect(b.exitCode).toBe(1);
    expect(b.stderr).toMatch(/broken:metrics\.json:3:11: invalid JSON/);
  });
});

describe('mlo params diff', () => {
  it('compares params files between revisions', async () => {
    const dir = await branchedRepo();
    const d = json(await mlo(dir, 'params', 'diff', 'main', 'feature', '--json'));
    expect(d.diff).toEqual([
      { file: 'params.yaml', key: 'layers.0', old: 32, new: 64, change: 32, pct: 100 },
      { file: 'params.yaml', key: 'lr', old: 0.1, new: 0.05, change: expect.closeTo(-0.05, 9), pct: expect.closeTo(-50, 6) },
    ]);
    expect((await mlo(dir, 'params', 'diff', 'main', 'feature', '--md')).stdout).toContain('| params.yaml | lr | 0.1 | 0.05 |');
  });
});

describe('mlo plots', () => {
  it('show writes one self-contained HTML page with Vega-Lite specs and vega-embed inline', async () => {
    const dir = await trainingRepo();
    await mlo(dir, 'exp', 'run', '-n', 'a');
    await mlo(dir, 'exp', 'run', '-S', 'lr=0.3', '-n', 'b');
    const r = await mlo(dir, 'plots', 'show', '-o', 'report.html');
    expect(r.exitCode, r.stderr).toBe(0);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('id="vega-lite-specs"');
    expect(html).toContain('vegaEmbed(target, spec');
    expect(html.length).toBeGreaterThan(800_000);
    // Nothing is fetched when the page opens: its markup (the inline libraries aside) loads nothing by URL.
    const markup = html.replace(/<script>[\s\S]*?<\/script>/g, '<script></script>');
    expect(markup.length).toBeLessThan(5_000);
    expect(markup).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img[^>]+src=|https?:\/\/(?!vega\.github\.io\/schema)/);

    const data = json(await mlo(dir, 'plots', 'show', '--json'));
    const loss = data.specs.find((s: { title: string }) => s.title === 'loss');
    expect(loss.mark.type).toBe('line');
    expect(new Set(loss.data.values.map((v: { run: string }) => v.run)).size).toBe(2);
    expect(loss.data.values).toHaveLength(10);
    const acc = data.specs.find((s: { title: string }) => s.title === 'acc');
    expect(acc.mark.type).toBe('bar');
    // Axes fit the data: the bars of 0.93 and 0.73 start below 0.73, not at zero.
    const [lo, hi] = acc.encoding.y.scale.domain;
    expect(acc.encoding.y.scale.zero).toBe(false);
    expect(lo).toBeGreaterThan(0.6);
    expect(lo).toBeLessThan(0.73);
    expect(hi).toBeGreaterThan(0.93);
  });

  it('diff plots metrics across revisions', async () => {
    const dir = await branchedRepo();
    const data = json(await mlo(dir, 'plots', 'diff', 'main', 'feature', '--json'));
    const acc = data.specs.find((s: { title: string }) => s.title === 'acc');
    expect(acc.data.values.map((v: { value: number }) => v.value)).toEqual([0.8, 0.9]);
  });
});
