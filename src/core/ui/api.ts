/**
 * The UI's JSON API: one function a route, each a thin wrapper over the core function the matching
 * CLI command calls, so a route answers with the document that command's --json prints (docs/ui.md
 * lists the pairs). Nothing here writes to the repository.
 */
import { HttpError } from '../serve/http.js';
import type { Repo } from '../repo/repo.js';
import { diffRuns, runSummary, showRunsJson } from '../tracking/exp.js';
import type { TrackingDb } from '../tracking/db.js';
import { openStore, storeLocation } from '../tracking/store.js';
import { diffAt, showAt } from '../tracking/revisions.js';
import { listModels, listVersionNumbers, parseRef, readAliases, readAudit, readVersion } from '../registry/registry.js';
import { MloError } from '../../base/errors.js';
import { MAX_RUNS, type Query } from './query.js';
import { declaredPlots } from '../tracking/plotfiles.js';
import { seriesOf } from './series.js';
import { pipelineDocument, remoteDocument } from './pipeline.js';
import { monitorDrift, monitorStatus } from './monitor.js';

/** What each request gets: the repository, opened once when the server starts. */
export interface UiContext {
  repo: Repo;
}

/** A route's answer: a JSON text (spliced where the core returns one) and its status. */
export type RouteResult = string;
export type Route = (ctx: UiContext, q: Query) => RouteResult | Promise<RouteResult>;

/**
 * The tracking store for one request, closed after it. Opened per request (a few ms) rather than
 * kept: a database moved aside or repaired while the UI runs is picked up by the next request, and a
 * corrupt one answers each request with its error (the page shows it as a banner).
 */
function withStore<T>(ctx: UiContext, fn: (db: TrackingDb) => T): T {
  // sync: run files committed on other branches and pulled since are imported, as `exp show` does.
  const db = openStore(storeLocation(ctx.repo), { sync: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** A git revision from a query: refuses what git would read as an option. */
function revision(q: Query, name: string): string | undefined {
  const rev = q.text(name);
  if (rev !== undefined) checkRevision(rev, name);
  return rev;
}

function checkRevision(rev: string, name: string): void {
  // Whitespace covers the control characters a revision could smuggle into git's stdin protocol.
  if (rev.startsWith('-') || /[\s]/.test(rev) || [...rev].some((c) => c.charCodeAt(0) < 32))
    throw new HttpError(400, `query parameter '${name}' is not a revision: '${rev.slice(0, 40)}'`);
}

const runs: Route = (ctx, q) => {
  const options = {
    sortBy: q.text('sort'),
    sortOrder: q.choice('order', ['asc', 'desc'] as const),
    limit: q.int('limit', 1, 1_000_000),
    experiment: q.text('experiment'),
  };
  return withStore(ctx, (db) => showRunsJson(db, options));
};

const run: Route = (ctx, q) => {
  const ref = q.required('id');
  return withStore(ctx, (db) => {
    const row = db.findRun(ref);
    return JSON.stringify({ ...runSummary(db, row.id), tags: db.tags(row.rid), series: db.seriesKeys(row.rid), lineage: db.lineage(row.rid) });
  });
};

const series: Route = (ctx, q) => {
  const key = q.required('key');
  const refs = q.list('run', MAX_RUNS);
  if (!refs.length) throw new HttpError(400, "query parameter 'run' is required (repeat it, or separate runs with commas)");
  const options = { points: q.int('points', 2, 1_000_000), from: q.number('from'), to: q.number('to') };
  if (options.from !== undefined && options.to !== undefined && options.from > options.to) {
    throw new HttpError(400, `query parameter 'from' (${options.from}) is past 'to' (${options.to})`);
  }
  return withStore(ctx, (db) => seriesOf(db, key, refs, options));
};

const diff: Route = (ctx, q) => {
  const a = q.required('a');
  const b = q.required('b');
  return withStore(ctx, (db) => JSON.stringify(diffRuns(db, a, b, { all: true })));
};

/**
 * Every run's tags, `{tags: {RUN_ID: {key: value}}}`: `exp show --json` has no tags, and the runs
 * table filters by them. SQLite writes the JSON.
 */
const tags: Route = (ctx) =>
  withStore(ctx, (db) => {
    const rows = db.read(
      () =>
        db.db.prepare('SELECT r.id, json_group_object(t.key, t.value) FROM tags t JOIN runs r ON r.rid = t.rid GROUP BY t.rid').raw().all() as [
          string,
          string,
        ][],
    );
    return `{"tags":{${rows.map(([id, json]) => `${JSON.stringify(id)}:${json}`).join(',')}}}`;
  });

/** A cheap fingerprint of the store: the page polls it and reloads its data when it changes. */
const stamp: Route = (ctx) =>
  withStore(ctx, (db) =>
    JSON.stringify(
      db.read(() =>
        db.db
          .prepare(
            "SELECT (SELECT COUNT(*) FROM runs) AS runs, (SELECT MAX(rid) FROM runs) AS last, (SELECT MAX(rowid) FROM metrics) AS points, (SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'running')) AS active",
          )
          .get(),
      ),
    ),
  );

const revisions: Route = async (ctx) => {
  const [metrics, params] = await Promise.all([showAt(ctx.repo, 'metrics', { allBranches: true }), showAt(ctx.repo, 'params', { allBranches: true })]);
  return JSON.stringify({ metrics: { revisions: metrics }, params: { revisions: params } });
};

const revisionsDiff: Route = async (ctx, q) => {
  const kind = q.choice('kind', ['metrics', 'params'] as const) ?? 'metrics';
  return JSON.stringify(await diffAt(ctx.repo, kind, { a: revision(q, 'a'), b: revision(q, 'b'), all: true }));
};

const plots: Route = async (ctx, q) => {
  const revs = q.list('rev', 10);
  for (const rev of revs) checkRevision(rev, 'rev');
  return JSON.stringify(await declaredPlots(ctx.repo, revs));
};

const models: Route = (ctx) => JSON.stringify({ models: listModels(ctx.repo) });

const model: Route = (ctx, q) => {
  // parseRef checks the name (letters, digits, . _ -): a name never leads outside registry/.
  const { name } = parseRef(q.required('name'));
  const numbers = listVersionNumbers(ctx.repo, name);
  if (!numbers.length) throw new MloError('MLO_UNKNOWN_MODEL', `no model '${name}' in the registry`, { hint: 'list models with `mlo model list`' });
  return JSON.stringify({
    name,
    aliases: readAliases(ctx.repo, name),
    versions: numbers.map((v) => readVersion(ctx.repo, name, v)),
    audit: readAudit(ctx.repo, name),
  });
};

const pipeline: Route = async (ctx) => JSON.stringify(await pipelineDocument(ctx.repo));

const remote: Route = async (ctx, q) => JSON.stringify(await remoteDocument(ctx.repo, q.text('remote')));

const serving: Route = (ctx, q) => JSON.stringify(monitorStatus(ctx.repo, { log: q.required('log'), model: q.text('model'), now: q.text('now') }));

const drift: Route = async (ctx, q) =>
  JSON.stringify(await monitorDrift(ctx.repo, { reference: q.required('reference'), current: q.required('current'), model: q.text('model') }));

export const ROUTES: Record<string, Route> = {
  '/api/runs': runs,
  '/api/run': run,
  '/api/tags': tags,
  '/api/series': series,
  '/api/diff': diff,
  '/api/stamp': stamp,
  '/api/revisions': revisions,
  '/api/revisions/diff': revisionsDiff,
  '/api/plots': plots,
  '/api/models': models,
  '/api/model': model,
  '/api/pipeline': pipeline,
  '/api/remote': remote,
  '/api/monitor/status': serving,
  '/api/monitor/drift': drift,
};
