import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, json, mlo, mloWith, tempDir } from '../helpers.js';
import { startUi, uiRepo, type RunningUi, type UiRepo } from './fixture.js';

let repo: UiRepo;
let ui: RunningUi;

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; type: string | null }> {
  const res = await fetch(`${ui.url}${path}`, { headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // a page or script
  }
  return { status: res.status, body, type: res.headers.get('content-type') };
}

beforeAll(async () => {
  repo = await uiRepo();
  ui = await startUi(repo.dir);
});
afterAll(async () => {
  await ui?.stop();
  if (repo) rmSync(repo.dir, { recursive: true, force: true });
});

describe('mlo ui API answers with the CLI --json documents', () => {
  it('runs is exp show --json, with its sort and limit', async () => {
    const cli = json(await mlo(repo.dir, 'exp', 'show', '--json'));
    const api = await get('/api/runs');
    expect(api.status).toBe(200);
    expect(api.body).toEqual(cli);
    expect(api.body.runs).toHaveLength(4);
    const sorted = await get('/api/runs?sort=acc&order=desc&limit=2');
    expect(sorted.body).toEqual(json(await mlo(repo.dir, 'exp', 'show', '--json', '--sort-by', 'acc', '--sort-order', 'desc', '--limit', '2')));
    expect(sorted.body.runs.map((r: any) => r.metrics.acc)).toEqual([0.9, 0.8]);
  });

  it('run, series and diff', async () => {
    const fast = (await get('/api/run?id=fast')).body;
    expect(fast).toMatchObject({ name: 'fast', params: { lr: '0.3' }, metrics: { acc: 0.7 }, series: ['loss'] });
    const series = (await get(`/api/series?key=loss&run=fast&run=medium`)).body;
    expect(series.series.map((s: any) => [s.name, s.step.length])).toEqual([
      ['fast', 8],
      ['medium', 8],
    ]);
    expect(series.series[0].value[1]).toBeCloseTo(0.15);
    const tags = (await get('/api/tags')).body.tags;
    expect(tags[fast.id]).toEqual(fast.tags);
    expect(tags[fast.id]).toMatchObject({ 'mlo.set': 'lr=0.3' });
    const diff = (await get('/api/diff?a=fast&b=medium')).body;
    expect(diff).toEqual(json(await mlo(repo.dir, 'exp', 'diff', 'fast', 'medium', '--json')));
  });

  it('series over a point budget: the lowest and highest value per step bucket; a range that fits comes exact', async () => {
    // fast logs loss = 0.3 / (step + 1) at steps 0..7: two buckets of four steps at a budget of 4.
    const cut = (await get('/api/series?key=loss&run=fast&points=4')).body.series[0];
    expect(cut).toMatchObject({ name: 'fast', decimated: true, step: [0, 3, 4, 7] });
    // Falling: each bucket's maximum first, so the curve keeps its shape and its extremes.
    expect(cut.value.map((v: number) => Number(v.toFixed(4)))).toEqual([0.3, 0.075, 0.06, 0.0375]);
    const fits = (await get('/api/series?key=loss&run=fast&points=8')).body.series[0];
    expect(fits).toMatchObject({ decimated: false });
    expect(fits.step).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const zoomed = (await get('/api/series?key=loss&run=fast&run=medium&points=4&from=2&to=4')).body.series;
    expect(zoomed.map((s: any) => [s.name, s.decimated, s.step])).toEqual([
      ['fast', false, [2, 3, 4]],
      ['medium', false, [2, 3, 4]],
    ]);
    expect((await get('/api/series?key=loss&run=fast&from=50')).body.series[0].step).toEqual([]);
    for (const [path, message] of [
      ['/api/series?key=loss&run=fast&points=1', /'points' must be a whole number from 2/],
      ['/api/series?key=loss&run=fast&from=x', /'from' must be a number, got 'x'/],
      ['/api/series?key=loss&run=fast&from=5&to=2', /'from' \(5\) is past 'to' \(2\)/],
    ] as const) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.message).toMatch(message);
    }
  });

  it('revisions, their diff and the declared plots', async () => {
    const revs = (await get('/api/revisions')).body;
    expect(revs.metrics).toEqual(json(await mlo(repo.dir, 'metrics', 'show', '--all-branches', '--json')));
    expect(revs.params.revisions.map((r: any) => [r.rev, r.files['params.yaml']?.lr])).toEqual([
      ['workspace', 0.2],
      ['exp', 0.4],
      ['main', 0.1],
    ]);
    const diff = (await get('/api/revisions/diff?a=main&b=exp')).body;
    expect(diff).toEqual(json(await mlo(repo.dir, 'metrics', 'diff', 'main', 'exp', '--all', '--json')));
    const plots = (await get('/api/plots?rev=main&rev=exp')).body;
    expect(plots.plots.map((p: any) => [p.file, p.template, p.rows])).toEqual([
      ['confusion.csv', 'confusion', 8],
      ['roc.csv', 'roc', 8],
    ]);
    const roc = plots.plots[1].spec;
    expect(roc.encoding.color.field).toBe('rev');
    expect(roc.encoding.y.scale).toEqual({ domain: [0, 1] });
  });

  it('models, pipeline and data', async () => {
    expect((await get('/api/models')).body).toEqual(json(await mlo(repo.dir, 'model', 'list', '--json')));
    const model = (await get('/api/model?name=churn')).body;
    expect(model.aliases).toEqual({ production: 2 });
    expect(model.versions.map((v: any) => v.version)).toEqual([1, 2]);
    expect(model.versions[1].signature.inputs[0].name).toBe('x');
    expect(model.audit.at(-1)).toMatchObject({ action: 'promote', version: 2, alias: 'production', reason: 'auc up' });
    const pipeline = (await get('/api/pipeline')).body;
    expect(pipeline.dag).toEqual(json(await mlo(repo.dir, 'dag', '--json')));
    const status = json(await mlo(repo.dir, 'status', '--json'));
    expect(pipeline.stages).toEqual(status.stages);
    expect(pipeline.entries).toEqual(status.entries);
  });

  it('serves the page and its libraries from the package, with no CDN', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/text\/html/);
    expect(page.body).not.toMatch(/https?:\/\//);
    for (const asset of ['/app.js', '/app.css', '/vendor/uPlot.min.css', '/vendor/vega.min.js', '/vendor/vega-lite.min.js', '/vendor/vega-embed.min.js']) {
      expect((await get(asset)).status, asset).toBe(200);
    }
  });
});

describe('tracked data on the remote', () => {
  it('sizes come with the pipeline; the remote is asked only on /api/remote, as status --cloud', async () => {
    const pipeline = (await get('/api/pipeline')).body;
    expect(pipeline.sizes['data.txt']).toEqual({ size: 4 });
    expect(pipeline.sizes.out).toMatchObject({ files: 1 });
    const none = await get('/api/remote');
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('MLO_NO_REMOTE');
    const store = tempDir();
    expect((await mlo(repo.dir, 'remote', 'add', 'store', store, '--default', '--local')).exitCode).toBe(0);
    const before = (await get('/api/remote')).body;
    expect(before.error).toBeUndefined();
    expect(before).toEqual(json(await mlo(repo.dir, 'status', '--cloud', '--json')));
    expect(before.entries.find((e: any) => e.path === 'data.txt')).toMatchObject({ objects: 1, localOnly: 1 });
    expect((await mlo(repo.dir, 'push')).exitCode).toBe(0);
    expect((await get('/api/remote')).body.entries.find((e: any) => e.path === 'data.txt')).toMatchObject({ localOnly: 0, missing: 0 });
    rmSync(join(repo.dir, '.mlo', 'config.local.yaml'));
  });
});

describe('mlo ui refuses bad requests', () => {
  it('answers malformed or huge query parameters with 400 naming the parameter', async () => {
    const cases: [string, RegExp][] = [
      ['/api/runs?limit=abc', /'limit' must be a whole number/],
      ['/api/runs?limit=0', /'limit' must be a whole number from 1/],
      ['/api/runs?order=sideways', /'order' must be one of asc, desc/],
      [`/api/runs?sort=${'x'.repeat(600)}`, /'sort' is 600 characters/],
      ['/api/runs?limit=1&limit=2', /'limit' is given 2 times/],
      ['/api/runs?sort=nope', /no run has a metric or param 'nope'/],
      ['/api/series?key=loss', /'run' is required/],
      [`/api/series?key=loss&run=${Array.from({ length: 51 }, (_, i) => `r${i}`).join(',')}`, /'run' names 51 values; the limit is 50/],
      ['/api/run', /'id' is required/],
      ['/api/revisions/diff?a=--output=/tmp/x', /'a' is not a revision/],
      ['/api/plots?rev=-p', /'rev' is not a revision/],
      ['/api/model?name=../../etc', /is not a model reference/],
    ];
    for (const [path, message] of cases) {
      const r = await get(path);
      expect(r.status, path).toBe(400);
      expect(r.body.error.message, path).toMatch(message);
    }
    const huge = await get(`/api/runs?sort=${'x'.repeat(9000)}`);
    expect(huge.status).toBe(414);
    expect(huge.body.error.code).toBe('MLO_BAD_QUERY');
  });

  it('answers what does not exist with 404, and anything but GET with 405', async () => {
    expect((await get('/api/run?id=nosuchrun')).body.error.code).toBe('MLO_UNKNOWN_RUN');
    expect((await get('/api/run?id=nosuchrun')).status).toBe(404);
    expect((await get('/api/model?name=nosuch')).status).toBe(404);
    expect((await get('/api/revisions/diff?a=nosuchbranch')).status).toBe(404);
    expect((await get('/api/nothing')).status).toBe(404);
    const post = await fetch(`${ui.url}/api/runs`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
  });

  it('never serves a file outside its own assets, whatever the path says', async () => {
    for (const path of [
      '/../../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/vendor/..%2f..%2f..%2fpackage.json',
      '/vendor/%2e%2e/%2e%2e/mlo.yaml',
      '/mlo.yaml',
      '/.mlo/tracking.db',
      '//etc/passwd',
    ]) {
      const res = await fetch(`${ui.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).not.toMatch(/root:|stages:|SQLite/);
    }
  });

  it('leaves the repository as it found it', async () => {
    const before = await git(repo.dir, 'status', '--porcelain', '--ignored');
    for (const path of ['/api/runs', '/api/revisions', '/api/plots', '/api/pipeline', '/api/models', '/api/model?name=churn', '/api/stamp']) await get(path);
    expect(await git(repo.dir, 'status', '--porcelain', '--ignored')).toBe(before);
  });
});

describe('declared plot paths from a cloned repository', () => {
  it('answers an error naming mlo.yaml when it does not parse, never {plots: []}', async () => {
    const dir = tempDir();
    await git(dir, 'init', '-q', '-b', 'main');
    expect((await mlo(dir, 'init')).exitCode).toBe(0);
    writeFileSync(join(dir, 'mlo.yaml'), 'plots: [loss.csv\n');
    const other = await startUi(dir);
    try {
      const res = await fetch(`${other.url}/api/plots`);
      expect(res.status).not.toBe(200);
      const body = (await res.json()) as any;
      expect(body.plots).toBeUndefined();
      expect(body.error).toMatchObject({ code: 'MLO_BAD_YAML', message: expect.stringMatching(/^mlo\.yaml/) });
    } finally {
      await other.stop();
    }
  });

  it('reports paths that leave the repository or link out of it, and reads neither', async () => {
    const outside = tempDir();
    writeFileSync(join(outside, 'secret.csv'), 'a,b\n1,2\n');
    const dir = tempDir();
    await git(dir, 'init', '-q', '-b', 'main');
    mkdirSync(join(dir, 'plots'));
    symlinkSync(join(outside, 'secret.csv'), join(dir, 'plots', 'linked.csv'));
    writeFileSync(join(dir, 'mlo.yaml'), `plots:\n  - ../${outside.split('/').pop()}/secret.csv\n  - plots/linked.csv\n  - /etc/passwd\n`);
    expect((await mlo(dir, 'init')).exitCode).toBe(0);
    const other = await startUi(dir);
    try {
      const plots = (await (await fetch(`${other.url}/api/plots`)).json()) as any;
      expect(plots.plots.every((p: any) => p.spec === undefined && p.rows === 0)).toBe(true);
      expect(JSON.stringify(plots)).not.toMatch(/"a":1/);
      expect(plots.plots.map((p: any) => p.problems[0])).toEqual([
        expect.stringMatching(/secret\.csv: the path leaves the repository/),
        expect.stringMatching(/passwd: the path leaves the repository/),
        expect.stringMatching(/plots\/linked\.csv in the workspace is a symlink to a file outside the repository; it was not read/),
      ]);
    } finally {
      await other.stop();
    }
  });
});

describe('a corrupt tracking database', () => {
  it('answers with its error code, and the other pages still work', async () => {
    const dir = tempDir();
    await git(dir, 'init', '-q', '-b', 'main');
    expect((await mlo(dir, 'init')).exitCode).toBe(0);
    writeFileSync(join(dir, '.mlo', 'tracking.db'), 'this is not a database'.repeat(300));
    const other = await startUi(dir);
    try {
      const res = await fetch(`${other.url}/api/runs`);
      expect(res.status).toBe(500);
      const body = (await res.json()) as any;
      expect(body.error.code).toMatch(/MLO_DB_(CORRUPT|CANT_OPEN)/);
      expect(body.error.hint).toMatch(/move it aside/);
      expect((await fetch(`${other.url}/api/models`)).status).toBe(200);
    } finally {
      await other.stop();
    }
  });
});

describe('monitoring', () => {
  it('serving health and drift are the monitor --json documents; their files must be inside the repository', async () => {
    const dir = tempDir();
    await git(dir, 'init', '-q', '-b', 'main');
    expect((await mlo(dir, 'init')).exitCode).toBe(0);
    const lines = [];
    for (let i = 0; i < 40; i++) {
      lines.push(
        JSON.stringify({
          ts: `2026-11-20T10:${String(i).padStart(2, '0')}:00Z`,
          model: 'churn',
          version: 2,
          status: i < 2 ? 500 : 200,
          latency_ms: i + 1,
          inputs: { x: i },
        }),
      );
    }
    writeFileSync(join(dir, 'serve.log'), `${lines.join('\n')}\n`);
    writeFileSync(join(dir, 'ref.csv'), `x\n${Array.from({ length: 40 }, (_, i) => i % 10).join('\n')}\n`);
    const outside = tempDir();
    writeFileSync(join(outside, 'secret.log'), `${lines[0]}\n`);
    symlinkSync(join(outside, 'secret.log'), join(dir, 'linked.log'));
    const other = await startUi(dir);
    const at = async (path: string) => {
      const res = await fetch(`${other.url}${path}`);
      return { status: res.status, body: (await res.json()) as any };
    };
    try {
      const now = '2026-11-23T12:00:00Z';
      const status = await at(`/api/monitor/status?log=serve.log&now=${now}`);
      expect(status.body).toEqual(json(await mlo(dir, 'monitor', 'status', '--log', 'serve.log', '--now', now, '--json')));
      expect(status.body.models[0]).toMatchObject({ model: 'churn', version: 2, requests: 40, errors: 2 });
      const drift = await at('/api/monitor/drift?reference=ref.csv&current=serve.log');
      expect(drift.body).toEqual(json(await mlo(dir, 'monitor', 'drift', '--reference', 'ref.csv', '--current', 'serve.log', '--json')));
      expect(drift.body.features.find((f: any) => f.column === 'x')).toBeTruthy();
      for (const [path, message] of [
        ['/api/monitor/status?log=../../etc/passwd', /'log' must be a path inside the repository/],
        ['/api/monitor/status?log=/etc/passwd', /'log' must be a path inside the repository/],
        ['/api/monitor/status?log=linked.log', /linked\.log links to a file outside the repository/],
        ['/api/monitor/drift?reference=ref.csv&current=.git/config', /'current' must be a path inside the repository/],
        // The local config (credentials) and the tracking store live in .mlo/.
        ['/api/monitor/drift?reference=.mlo/config.local.yaml&current=serve.log', /'reference' must be a path inside the repository \(not in \.git or \.mlo\)/],
        ['/api/monitor/status?log=./.mlo/../.mlo/config.yaml', /'log' must be a path inside the repository/],
      ] as const) {
        const r = await at(path);
        expect(r.status, path).toBe(400);
        expect(r.body.error.message, path).toMatch(message);
      }
      expect((await at('/api/monitor/status?log=nosuch.log')).status).toBe(404);
    } finally {
      await other.stop();
    }
  });
});

describe('binding and tokens', () => {
  it('without a token, answers 403 to a Host that is not its loopback address and port (DNS rebinding)', async () => {
    const port = new URL(ui.url).port;
    // fetch() drops a Host header; node:http sends it as given, as a rebinding browser would.
    const withHost = (path: string, host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    for (const host of ['evil.example', `evil.example:${port}`, '127.0.0.1:1', `127.0.0.1.evil.example:${port}`]) {
      const r = await withHost('/api/runs', host);
      expect(r.status, host).toBe(403);
      expect(JSON.parse(r.body).error.code, host).toBe('MLO_BAD_HOST');
      expect((await withHost('/', host)).status, host).toBe(403);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) expect((await withHost('/api/runs', host)).status, host).toBe(200);
  });

  it('refuses a non-loopback --host without a token (exit 2)', async () => {
    const dir = tempDir();
    await git(dir, 'init', '-q', '-b', 'main');
    expect((await mlo(dir, 'init')).exitCode).toBe(0);
    const r = await mlo(dir, 'ui', '--host', '0.0.0.0', '--port', '0');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--host 0\.0\.0\.0 is not a loopback address/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const empty = await mloWith({ cwd: dir, env: { MLO_UI_TOKEN: ' ' } }, 'ui', '--host', '0.0.0.0', '--port', '0');
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toMatch(/--token is empty/);
  });

  it('with a token, the API needs it (header or ?token=); the page itself loads', async () => {
    const dir = tempDir();
    await git(dir, 'init', '-q', '-b', 'main');
    expect((await mlo(dir, 'init')).exitCode).toBe(0);
    const secured = await startUi(dir, ['--host', '0.0.0.0'], { MLO_UI_TOKEN: 's3cret' });
    try {
      const base = `http://127.0.0.1:${secured.info.port}`;
      expect(secured.info.host).toBe('0.0.0.0');
      const denied = await fetch(`${base}/api/runs`);
      expect(denied.status).toBe(401);
      expect(((await denied.json()) as any).error.code).toBe('MLO_UNAUTHORIZED');
      expect((await fetch(`${base}/api/runs`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${base}/api/runs`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
      expect((await fetch(`${base}/api/runs?token=s3cret`)).status).toBe(200);
      expect((await fetch(`${base}/`)).status).toBe(200);
    } finally {
      await secured.stop();
    }
  });
});
