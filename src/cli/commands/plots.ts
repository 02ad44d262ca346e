import { resolve } from 'node:path';
import { writeFileAtomic } from '../../base/fs.js';
import { commandRepo } from '../repo.js';
import { plotsForRevs, plotsForRuns, renderHtml, type PlotsData } from '../../core/tracking/plots.js';
import { openStore, storeLocation } from '../../core/tracking/store.js';
import type { ActionContext, Outcome } from '../action.js';
import type { PlotsFlags } from '../options.js';
import { plural } from '../../base/plural.js';

function write(ctx: ActionContext<PlotsFlags>, data: PlotsData): void {
  const file = resolve(ctx.flags.cwd, ctx.opts.out ?? 'plots.html');
  for (const problem of data.problems ?? []) ctx.out.warn(`plots: ${problem}`);
  if (!ctx.flags.json) writeFileAtomic(file, renderHtml(data), { fsync: false });
  ctx.out.result(data, () => `Wrote ${file} (${plural(data.specs.length, 'plot')}); open it in a browser, no network needed.`);
}

export function plotsShow(ctx: ActionContext<PlotsFlags>, runs: string[]): void {
  const repo = commandRepo(ctx.flags);
  const db = openStore(storeLocation(repo), { sync: true });
  let data: PlotsData;
  try {
    data = plotsForRuns(db, runs, ctx.opts.limit ?? 10);
  } finally {
    db.close();
  }
  write(ctx, data);
}

/** Exits 1 when a metrics file a revision records could not be read: the page would silently lack it. */
export async function plotsDiff(ctx: ActionContext<PlotsFlags>, revs: string[]): Promise<Outcome> {
  const repo = commandRepo(ctx.flags);
  const db = openStore(storeLocation(repo), { sync: true });
  let data: PlotsData;
  try {
    data = await plotsForRevs(repo, db, revs);
  } finally {
    db.close();
  }
  write(ctx, data);
  const missing = data.missing ?? [];
  for (const m of missing) ctx.out.warn(`${m.message}${m.hint ? `; ${m.hint}` : ''}`);
  return { failed: missing.some((m) => m.reason !== 'not-recorded') };
}
