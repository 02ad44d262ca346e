import { commandRepo } from '../repo.js';
import { formatChange, formatPct, formatValue, markdownTable } from '../../core/tracking/format.js';
import { diffAt } from '../../core/tracking/revisions.js';
import type { ActionContext, Outcome } from '../action.js';
import type { RevDiffFlags } from '../options.js';
import { summaryLines } from '../rev-diff.js';
import { table } from '../output.js';

/** Exits 1 when the comparison is not whole (a side without params files, a file that could not be read). */
export async function paramsDiff({ out, flags, opts }: ActionContext<RevDiffFlags>, a?: string, b?: string): Promise<Outcome> {
  const repo = commandRepo(flags);
  const diff = await diffAt(repo, 'params', { a, b, all: opts.all });
  const header = ['Path', 'Param', diff.a.rev, diff.b.rev, 'Change'];
  const rows = diff.diff.map((d) => [d.file, d.key, formatValue(d.old), formatValue(d.new), d.change === null ? '-' : `${formatChange(d)} (${formatPct(d)})`]);
  const summary = summaryLines(diff, 'params', 'params', rows.length > 0);
  if (!flags.json && opts.md) out.print([...(rows.length ? markdownTable(header, rows) : []), ...summary]);
  else out.result(diff, () => [...(rows.length ? table(header, rows) : []), ...summary]);
  return { failed: !diff.complete };
}
