import { commandRepo } from '../repo.js';
import { formatChange, formatPct, formatValue, markdownTable } from '../../core/tracking/format.js';
import { diffAt, showAt, type RevDiff } from '../../core/tracking/revisions.js';
import type { ActionContext, Outcome } from '../action.js';
import type { RevDiffFlags } from '../options.js';
import { stdoutColor, table } from '../output.js';

export async function metricsShow({ out, flags, opts }: ActionContext<{ allBranches?: boolean; md?: boolean; precision?: number }>): Promise<Outcome> {
  const repo = commandRepo(flags);
  const revs = await showAt(repo, 'metrics', { allBranches: opts.allBranches });
  const p = opts.precision ?? 5;
  const rows: string[][] = [];
  for (const r of revs) {
    for (const [file, values] of Object.entries(r.files)) {
      for (const [k, v] of Object.entries(values))
        rows.push([r.rev, file, k, formatValue(typeof v === 'number' || typeof v === 'string' ? v : JSON.stringify(v), p)]);
    }
  }
  const broken = revs.filter((r) => r.error);
  const errorLines = broken.map((r) => `${r.rev}: error: ${r.error!.message}`);
  if (!flags.json && opts.md) {
    const md = markdownTable(
      ['Revision', 'Path', 'Metric', 'Value'],
      [...rows, ...broken.map((r) => [r.rev, '', '(error)', r.error!.message.replace(/\|/g, '\\|')])],
    );
    out.print(md);
  } else {
    out.result({ revisions: revs }, () => [
      ...(rows.length
        ? table(['Revision', 'Path', 'Metric', 'Value'], rows)
        : broken.length
          ? []
          : ['No metrics files found (declare them in mlo.yaml `metrics:`, or write metrics.json).']),
      ...(broken.length && rows.length ? [''] : []),
      ...errorLines.map((l) => stdoutColor.red(l)),
    ]);
  }
  // The other revisions are shown; the exit code still tells a script that one could not be read.
  return { failed: broken.length > 0 };
}

/** Shared by metrics diff and params diff: the text of a RevDiff. */
export function renderRevDiff(diff: RevDiff, what: string, opts: RevDiffFlags & { csv?: boolean }): { md: string[]; human: () => string[] | string } {
  const p = opts.precision ?? 5;
  const header = ['Path', what, diff.a.rev, diff.b.rev, 'Change', '%'];
  const rows = diff.diff.map((d) => [d.file, d.key, formatValue(d.old, p), formatValue(d.new, p), formatChange(d, p), formatPct(d)]);
  return {
    md: rows.length ? markdownTable(header, rows) : [`No ${what.toLowerCase()} changes between ${diff.a.rev} and ${diff.b.rev}.`],
    human: () =>
      rows.length
        ? table(
            header,
            rows.map((r) => [r[0], r[1], r[2], r[3], colorChange(r[4]), r[5]]),
          )
        : `No ${what.toLowerCase()} changed between ${diff.a.rev} and ${diff.b.rev}.`,
  };
}

function colorChange(s: string): string {
  return s.startsWith('+') ? stdoutColor.green(s) : s.startsWith('-') && s !== '-' ? stdoutColor.red(s) : s;
}

export async function metricsDiff({ out, flags, opts }: ActionContext<RevDiffFlags>, a?: string, b?: string): Promise<void> {
  const repo = commandRepo(flags);
  const diff = await diffAt(repo, 'metrics', { a, b, all: opts.all });
  const r = renderRevDiff(diff, 'Metric', opts);
  if (!flags.json && opts.md) {
    out.print(r.md);
    return;
  }
  out.result(diff, r.human);
}
