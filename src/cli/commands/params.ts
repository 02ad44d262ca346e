import { commandRepo } from '../repo.js';
import { formatChange, formatPct, formatValue, markdownTable } from '../../core/tracking/format.js';
import { diffAt } from '../../core/tracking/revisions.js';
import type { ActionContext } from '../action.js';
import type { RevDiffFlags } from '../options.js';
import { table } from '../output.js';

export async function paramsDiff({ out, flags, opts }: ActionContext<RevDiffFlags>, a?: string, b?: string): Promise<void> {
  const repo = commandRepo(flags);
  const diff = await diffAt(repo, 'params', { a, b, all: opts.all });
  const header = ['Path', 'Param', diff.a.rev, diff.b.rev, 'Change'];
  const rows = diff.diff.map((d) => [d.file, d.key, formatValue(d.old), formatValue(d.new), d.change === null ? '-' : `${formatChange(d)} (${formatPct(d)})`]);
  if (!flags.json && opts.md) {
    out.print(rows.length ? markdownTable(header, rows) : `No params changed between ${diff.a.rev} and ${diff.b.rev}.`);
    return;
  }
  out.result(diff, () => (rows.length ? table(header, rows) : `No params changed between ${diff.a.rev} and ${diff.b.rev}.`));
}
