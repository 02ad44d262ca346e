import { commandRepo } from '../repo.js';
import { formatChange, formatPct, formatValue, markdownTable } from '../../core/tracking/format.js';
import { diffAt, showAt, unreadable, type RevDiff } from '../../core/tracking/revisions.js';
import type { ActionContext, Outcome } from '../action.js';
import type { RevDiffFlags } from '../options.js';
import { summaryLines } from '../rev-diff.js';
import { stdoutColor, table } from '../output.js';

/**
 * Exits 1 when a revision could not be read (a broken file, a recorded file neither in the cache nor on
 * the remote), or when no revision has any metrics: the other revisions are still shown.
 */
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
  // Per revision: its error, the files it records but could not be read, or (with several revisions) that it has none.
  const notes: { rev: string; text: string; failed: boolean }[] = [];
  for (const r of revs) {
    if (r.error) notes.push({ rev: r.rev, text: `error: ${r.error.message}`, failed: true });
    for (const m of unreadable(r)) notes.push({ rev: r.rev, text: `${m.message}${m.hint ? `; ${m.hint}` : ''}`, failed: true });
    if (!r.error && Object.keys(r.files).length === 0 && unreadable(r).length === 0 && revs.length > 1) {
      const why = r.missing.map((m) => m.message).join('; ');
      notes.push({ rev: r.rev, text: why || 'no metrics files', failed: false });
    }
  }
  const failed = notes.some((n) => n.failed) || rows.length === 0;
  if (!flags.json && opts.md) {
    const md = markdownTable(
      ['Revision', 'Path', 'Metric', 'Value'],
      [...rows, ...notes.map((n) => [n.rev, '', n.failed ? '(error)' : '(none)', n.text.replace(/\|/g, '\\|')])],
    );
    out.print(md);
  } else {
    out.result({ revisions: revs }, () => [
      ...(rows.length ? table(['Revision', 'Path', 'Metric', 'Value'], rows) : notes.length ? [] : [NO_METRICS]),
      ...(notes.length && rows.length ? [''] : []),
      ...notes.map((n) => (n.failed ? stdoutColor.red(`${n.rev}: ${n.text}`) : `${n.rev}: ${n.text}`)),
    ]);
  }
  return { failed };
}

const NO_METRICS = 'No metrics files found (declare them in mlo.yaml `metrics:`, or write metrics.json).';

/** The text of a metrics RevDiff: a Markdown table or a terminal table, then why it is incomplete. */
function renderRevDiff(diff: RevDiff, opts: RevDiffFlags): { md: string[]; human: () => string[] } {
  const p = opts.precision ?? 5;
  const header = ['Path', 'Metric', diff.a.rev, diff.b.rev, 'Change', '%'];
  const rows = diff.diff.map((d) => [d.file, d.key, formatValue(d.old, p), formatValue(d.new, p), formatChange(d, p), formatPct(d)]);
  const summary = summaryLines(diff, 'metrics', 'metric', rows.length > 0);
  return {
    md: [...(rows.length ? markdownTable(header, rows) : []), ...summary],
    human: () => [
      ...(rows.length
        ? table(
            header,
            rows.map((r) => [r[0], r[1], r[2], r[3], colorChange(r[4]), r[5]]),
          )
        : []),
      ...(diff.complete ? summary : summary.map((l) => (l ? stdoutColor.red(l) : l))),
    ],
  };
}

function colorChange(s: string): string {
  return s.startsWith('+') ? stdoutColor.green(s) : s.startsWith('-') && s !== '-' ? stdoutColor.red(s) : s;
}

/** Exits 1 when the comparison is not whole (a side without metrics, a file that could not be read). */
export async function metricsDiff({ out, flags, opts }: ActionContext<RevDiffFlags>, a?: string, b?: string): Promise<Outcome> {
  const repo = commandRepo(flags);
  const diff = await diffAt(repo, 'metrics', { a, b, all: opts.all });
  const r = renderRevDiff(diff, opts);
  if (!flags.json && opts.md) out.print(r.md);
  else out.result(diff, r.human);
  return { failed: !diff.complete };
}
