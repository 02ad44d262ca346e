import { MloError, usageError } from '../../base/errors.js';
import type { Repo } from '../../core/repo/repo.js';
import { trackInGit } from '../../core/data/to-track.js';
import { gitHint } from '../git-hint.js';
import { commandRepo } from '../repo.js';
import type { RunEvent } from '../../core/pipeline/run.js';
import type { PipelineHooks } from '../../core/pipeline/hooks.js';
import { applyRun, branchRun, diffRuns, removeRuns, showRuns, showRunsJson, type RunSummary, type ShowResult } from '../../core/tracking/exp.js';
import { csvTable, formatChange, formatPct, formatValue, markdownTable } from '../../core/tracking/format.js';
import type { ExpRunResult, PipelineRunner } from '../../core/tracking/runexp.js';
import type { BrokerSettings } from '../../core/queue/broker.js';
import type { SubmitOptions } from '../../core/queue/submit.js';
import { openStore, storeLocation } from '../../core/tracking/store.js';
import type { ActionContext } from '../action.js';
import type { ExpRunFlags, ExpShowFlags, RevDiffFlags } from '../options.js';
import { displayWidth, fitWidths, pad, stderrColor, stdoutColor, table, terminalColumns, truncate, type Output } from '../output.js';
import { plural } from '../../base/plural.js';

function openShared(repo: Repo) {
  const loc = storeLocation(repo, process.env.MLO_TRACKING_DB || undefined);
  return { loc, db: openStore(loc, { sync: true }) };
}

function commandLine(targets: string[], opts: ExpRunFlags & { setParam?: string[] }): string {
  const parts = ['mlo exp run'];
  for (const s of opts.setParam ?? []) parts.push(`-S ${s}`);
  if (opts.name) parts.push(`-n ${opts.name}`);
  if (opts.queue) parts.push('--queue');
  if (opts.force) parts.push('-f');
  return [...parts, ...targets].join(' ');
}

function render(out: Output, e: RunEvent): void {
  if (e.type === 'start') out.info(stderrColor.bold(`Running stage '${e.stage}'`));
  else if (e.type === 'output' && !out.flags.quiet && !out.flags.json) process.stderr.write(`${stderrColor.cyan(e.stage)} ${stderrColor.dim('|')} ${e.line}\n`);
  else if (e.type === 'output' && out.flags.json) process.stderr.write(`${e.stage} | ${e.line}\n`);
  else if (e.type === 'restored') out.info(`Stage '${e.stage}': restored its outputs (${e.from})`);
  else if (e.type === 'done' && e.status !== 'ran') out.info(stderrColor.red(`Stage '${e.stage}' ${e.status}`) + (e.error ? `: ${e.error}` : ''));
  else if (e.type === 'warning') out.warn(e.message);
}

function pipelineRunner(out: Output, targets: string[], force: boolean | undefined): PipelineRunner {
  return async (repo: Repo, hooks: PipelineHooks) => {
    const controller = new AbortController();
    const onSignal = () => controller.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const { runPipeline } = await import('../../core/pipeline/run.js');
      const r = await runPipeline(repo, { targets, force, hooks, signal: controller.signal, baseEnv: process.env, onEvent: (e) => render(out, e) });
      return { ok: r.ok, interrupted: r.interrupted, written: r.written };
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  };
}

function kv(rec: Record<string, number | string>, precision?: number): string {
  const entries = Object.entries(rec);
  if (entries.length === 0) return stdoutColor.dim('(none)');
  return entries.map(([k, v]) => `${k}=${formatValue(v, precision)}`).join('  ');
}

export async function expRunCmd({ out, flags, opts }: ActionContext<ExpRunFlags & { setParam?: string[] }>, targets: string[]): Promise<void> {
  const repo = commandRepo(flags);
  const { expRun, queueRuns, runQueued } = await import('../../core/tracking/runexp.js');
  const set = opts.setParam ?? [];
  const runner = pipelineRunner(out, targets, opts.force);
  if (opts.queued) {
    const dbFile = process.env.MLO_TRACKING_DB;
    if (!dbFile) throw usageError('--queued is used by queue workers, with $MLO_TRACKING_DB set');
    const result = await runQueued(repo, { runId: opts.queued, dbFile, runner, onWarning: (m) => out.warn(m) });
    return report(out, result);
  }
  const command = commandLine(targets, opts);
  if (opts.queue) {
    const { brokerSettings } = await import('../../core/queue/broker.js');
    const broker = brokerSettings(repo);
    if (broker) return submitShared(out, repo, broker, { set, name: opts.name, experiment: opts.experiment, targets, force: opts.force, command });
    const queued = queueRuns(repo, { set, name: opts.name, experiment: opts.experiment, command });
    out.result({ queued }, () => [
      `Queued ${plural(queued.length, 'run')}:`,
      ...queued.map((q) => `  ${q.run}${q.name ? ` ${q.name}` : ''}  ${kv(q.params)}`),
      stdoutColor.dim('Start them with: mlo queue start -j N'),
    ]);
    return;
  }
  const result = await expRun(repo, { set, name: opts.name, experiment: opts.experiment, command, runner, onWarning: (m) => out.warn(m) });
  report(out, result, { repo, cwd: flags.cwd });
}

/** A grid for the shared queue: one BullMQ job per grid point (core/queue/submit.ts). */
async function submitShared(out: Output, repo: Repo, settings: BrokerSettings, options: SubmitOptions): Promise<void> {
  const { openBroker } = await import('../../core/queue/broker.js');
  const { submitGrid } = await import('../../core/queue/submit.js');
  const broker = await openBroker(settings);
  let r;
  try {
    r = await submitGrid(repo, broker, options);
  } finally {
    await broker.close();
  }
  out.result(r, () => [
    `Queued ${plural(r.queued.length, 'run')} on ${r.queue} (commit ${r.commit.slice(0, 7)}, remote ${r.remote}):`,
    ...r.queued.map((q) => `  ${q.run}${q.name ? ` ${q.name}` : ''}  ${kv(q.params)}`),
    stdoutColor.dim('Workers take them (mlo queue worker); watch with mlo queue status; collect results with mlo exp pull.'),
  ]);
}

/** `inWorkspace`: the run left its results in the user's workspace (not a queue worker's), so git is told what to track. */
function report(out: Output, result: ExpRunResult, inWorkspace?: { repo: Repo; cwd: string }): void {
  if (result.status === 'interrupted') {
    throw new MloError('MLO_INTERRUPTED', `run ${result.run} was interrupted (recorded as interrupted)`, {
      hint: 'run mlo exp run again; stages that finished are recorded in mlo.lock',
      meta: { result },
    });
  }
  if (result.status === 'failed') {
    throw new MloError('MLO_RUN_FAILED', `run ${result.run} failed (recorded as failed; see the stage output above)`, {
      hint: 'fix the stage and run mlo exp run again',
      meta: { result },
    });
  }
  const tracking = inWorkspace ? trackInGit(inWorkspace.repo, result.written) : { toTrack: [], staged: false };
  out.result({ ...result, toTrack: tracking.toTrack, staged: tracking.staged }, () => [
    `Run ${stdoutColor.bold(result.run)}${result.name ? ` (${result.name})` : ''} ${stdoutColor.green('finished')}.`,
    `  params:  ${kv(result.params)}`,
    `  metrics: ${kv(result.metrics)}`,
    ...(inWorkspace
      ? [
          stdoutColor.dim(
            'The workspace keeps these params and outputs (nothing was committed). Compare runs with mlo exp show; switch with mlo exp apply RUN.',
          ),
        ]
      : []),
  ]);
  if (inWorkspace) gitHint(out, { root: inWorkspace.repo.root, cwd: inWorkspace.cwd }, tracking, 'share this run');
}

function createdOf(r: RunSummary): string {
  return r.start ? r.start.slice(0, 16).replace('T', ' ') : '-';
}

export function expShowCmd({ out, flags, opts }: ActionContext<ExpShowFlags>): void {
  const repo = commandRepo(flags);
  const { db } = openShared(repo);
  const filtered = opts.keep !== undefined || opts.drop !== undefined;
  // --keep wins over --only-changed, so with it the unchanged columns are fetched and filtered here.
  const options = {
    sortBy: opts.sortBy,
    sortOrder: opts.sortOrder,
    onlyChanged: opts.onlyChanged && !opts.keep,
    limit: opts.limit,
    experiment: opts.experiment,
  };
  let result: ShowResult;
  try {
    if (flags.json && !filtered) {
      // Spliced from SQLite's JSON: 10,000 runs x 20 metrics are never parsed and re-serialised.
      out.print(showRunsJson(db, options));
      return;
    }
    result = showRuns(db, options);
  } finally {
    db.close();
  }
  if (filtered) result = filterColumns(result, opts);
  const p = opts.precision ?? 5;
  const { params, metrics } = result.columns;
  const fixed = FIXED_COLUMNS.filter((c) => c === 'Run' || shown(c, opts));
  if (!flags.json && (opts.csv || opts.md)) {
    const values: Record<string, (r: RunSummary) => string> = {
      Run: (r) => r.id,
      Name: (r) => r.name ?? '',
      Status: (r) => r.status,
      Created: (r) => r.start ?? '',
      Commit: (r) => r.commit ?? '',
    };
    const header = [...fixed.map((c) => c.toLowerCase()), ...params, ...metrics];
    const rows = result.runs.map((r) => [
      ...fixed.map((c) => values[c](r)),
      ...params.map((k) => r.params[k] ?? ''),
      ...metrics.map((k) => {
        const v = r.metrics[k];
        const cell = v === undefined ? '' : opts.csv ? String(v) : formatValue(v, p);
        return opts.md && result.best[k]?.run === r.id ? `**${cell}**` : cell;
      }),
    ]);
    out.print(opts.csv ? csvTable(header, rows) : markdownTable(header, rows));
    return;
  }
  out.result(result, () => {
    if (result.runs.length === 0) return 'No runs recorded yet (mlo run and mlo exp run record them).';
    const plain = stdoutColor.level === 0;
    const best = metrics.map((k) => result.best[k]?.run);
    const values: Record<string, (r: RunSummary) => string> = {
      Run: (r) => r.id.slice(0, 7),
      Name: (r) => r.name ?? '',
      Status: (r) => r.status,
      Created: createdOf,
      Commit: (r) => (r.commit ? r.commit.slice(0, 7) + (r.dirty ? '*' : '') : '-'),
    };
    const header = [...fixed, ...params, ...metrics];
    const status = fixed.indexOf('Status');
    const firstMetric = fixed.length + params.length;
    const cell = (r: RunSummary, col: number): string => {
      if (col < fixed.length) return values[fixed[col]](r);
      if (col < firstMetric) return r.params[params[col - fixed.length]] ?? '-';
      const m = col - firstMetric;
      return formatValue(r.metrics[metrics[m]], p) + (plain && best[m] === r.id ? ' \u2605' : '');
    };
    const drawn = fastTable(header, result.runs, cell, {
      style: (r, col, padded) => {
        if (col === status && r.status !== 'finished') return r.status === 'failed' ? stdoutColor.red(padded) : stdoutColor.yellow(padded);
        const m = col - firstMetric;
        return !plain && m >= 0 && best[m] === r.id ? stdoutColor.bold(stdoutColor.green(padded)) : padded;
      },
      maxWidth: terminalColumns(),
    });
    const lines = drawn.lines;
    if (drawn.hidden > 0) {
      lines.push(
        stdoutColor.dim(`(${plural(drawn.hidden, 'more column')} past the terminal's width; --keep/--drop choose columns, --csv or a pipe prints all)`),
      );
    }
    if (result.total > result.runs.length) lines.push(stdoutColor.dim(`(${result.runs.length} of ${result.total} runs; --limit to change)`));
    if (metrics.length)
      lines.push(stdoutColor.dim(`${plain ? '\u2605' : 'Green'}: the best value of each metric (lowest for loss/error-like names, else highest).`));
    return lines;
  });
}

const FIXED_COLUMNS = ['Run', 'Name', 'Status', 'Created', 'Commit'] as const;

/** Whether a column survives --drop (--keep wins); without either, every column does. */
function shown(name: string, opts: Pick<ExpShowFlags, 'keep' | 'drop'>): boolean {
  if (opts.keep?.test(name)) return true;
  return !opts.drop?.test(name);
}

/**
 * The result with only the params and metrics columns --keep/--drop (and --only-changed, which --keep
 * overrides) leave; a pattern that matches no column is a usage error (a typo must not pass for "no
 * such values"), listing the columns there are.
 */
function filterColumns(result: ShowResult, opts: ExpShowFlags): ShowResult {
  const all = [...FIXED_COLUMNS, ...result.columns.params, ...result.columns.metrics];
  for (const [flag, re] of [
    ['--keep', opts.keep],
    ['--drop', opts.drop],
  ] as const) {
    if (re && result.runs.length && !all.some((c) => re.test(c))) {
      throw usageError(
        `${flag} ${re.source} matches no column (columns: ${all.join(', ')})`,
        'patterns are regular expressions matched against these column names',
      );
    }
  }
  const differs = (values: (string | number | undefined)[]) => new Set(values).size > 1;
  const keepParam = (k: string) => opts.keep?.test(k) || (shown(k, opts) && (!opts.onlyChanged || differs(result.runs.map((r) => r.params[k]))));
  const keepMetric = (k: string) => opts.keep?.test(k) || (shown(k, opts) && (!opts.onlyChanged || differs(result.runs.map((r) => r.metrics[k]))));
  const params = result.columns.params.filter(keepParam);
  const metrics = result.columns.metrics.filter(keepMetric);
  const pick = <V>(rec: Record<string, V>, keys: string[]) => Object.fromEntries(keys.filter((k) => k in rec).map((k) => [k, rec[k]]));
  return {
    ...result,
    columns: { params, metrics },
    runs: result.runs.map((r) => ({ ...r, params: pick(r.params, params), metrics: pick(r.metrics, metrics) })),
    best: pick(result.best, metrics),
  };
}

/**
 * An aligned table for `exp show`: widths come from the plain text and colour is applied after
 * padding (output.ts's table() strips ANSI codes from every cell, too slow for 10,000 runs x 30
 * columns); each cell is formatted once, and lines are built with join (no long cons-string chains).
 * With `maxWidth` (stdout is a terminal) the widest columns give way and their cells end in an
 * ellipsis; columns that still do not fit are left out and counted in `hidden`.
 */
function fastTable<R>(
  header: string[],
  rows: R[],
  cell: (row: R, col: number) => string,
  options: { style: (row: R, col: number, padded: string) => string; maxWidth?: number },
): { lines: string[]; hidden: number } {
  const cols = header.length;
  const cells = new Array<string>(rows.length * cols);
  let widths = header.map(displayWidth);
  for (let r = 0; r < rows.length; r++) {
    for (let i = 0; i < cols; i++) {
      const c = cell(rows[r], i);
      cells[r * cols + i] = c;
      const width = displayWidth(c);
      if (width > widths[i]) widths[i] = width;
    }
  }
  let shownCols = cols;
  const full = widths.reduce((a, b) => a + b, 0) + 2 * (cols - 1);
  if (options.maxWidth !== undefined && full > options.maxWidth) {
    // The run id (first column) stays whole; others may narrow to 8 columns ("0.123\u2026" still reads).
    const min = widths.map((w, i) => (i === 0 ? w : Math.min(w, 8)));
    ({ widths, shown: shownCols } = fitWidths(widths, { max: options.maxWidth, gap: 2, min }));
  }
  const narrowed = options.maxWidth !== undefined && full > options.maxWidth;
  const cellText = (text: string, i: number) => (narrowed ? truncate(text, widths[i]) : text);
  const last = shownCols - 1;
  const lines = [
    stdoutColor.bold(
      header
        .slice(0, shownCols)
        .map((h, i) => (i === last ? cellText(h, i) : pad(cellText(h, i), widths[i])))
        .join('  '),
    ),
  ];
  const parts = new Array<string>(shownCols);
  for (let r = 0; r < rows.length; r++) {
    for (let i = 0; i < shownCols; i++) {
      const c = cellText(cells[r * cols + i], i);
      parts[i] = options.style(rows[r], i, i === last ? c : pad(c, widths[i]));
    }
    lines.push(parts.join('  '));
  }
  return { lines, hidden: cols - shownCols };
}

export function expDiffCmd({ out, flags, opts }: ActionContext<RevDiffFlags>, a: string, b: string): void {
  const repo = commandRepo(flags);
  const { db } = openShared(repo);
  let diff;
  try {
    diff = diffRuns(db, a, b, { all: opts.all });
  } finally {
    db.close();
  }
  const la = diff.a.name ?? diff.a.id.slice(0, 7);
  const lb = diff.b.name ?? diff.b.id.slice(0, 7);
  const paramRows = diff.params.map((d) => [d.key, formatValue(d.old), formatValue(d.new)]);
  const metricRows = diff.metrics.map((d) => [d.key, formatValue(d.old), formatValue(d.new), formatChange(d), formatPct(d)]);
  if (!flags.json && opts.md) {
    const lines = [
      `### ${la} → ${lb}`,
      '',
      '**Params**',
      '',
      ...markdownTable(['param', la, lb], paramRows),
      '',
      '**Metrics**',
      '',
      ...markdownTable(['metric', la, lb, 'change', '%'], metricRows),
    ];
    out.print(lines);
    return;
  }
  out.result(diff, () => [
    stdoutColor.bold('Params') + (paramRows.length ? '' : stdoutColor.dim(' (no differences)')),
    ...(paramRows.length ? table(['Param', la, lb], paramRows) : []),
    '',
    stdoutColor.bold('Metrics') + (metricRows.length ? '' : stdoutColor.dim(' (none)')),
    ...(metricRows.length ? table(['Metric', la, lb, 'Change', '%'], metricRows) : []),
  ]);
}

export async function expApplyCmd({ out, flags }: ActionContext<object>, run: string): Promise<void> {
  const repo = commandRepo(flags);
  const { db } = openShared(repo);
  let result;
  try {
    result = await applyRun(repo, db, run);
  } finally {
    db.close();
  }
  out.result(result, () => [
    `Applied run ${stdoutColor.bold(result.run)}: wrote ${result.files.join(', ') || 'nothing'}.`,
    ...(result.outs.restored.length ? [`Restored outputs: ${result.outs.restored.join(', ')}`] : []),
    ...(result.outs.missing.length ? [stdoutColor.yellow(`Not in the cache (run mlo pull): ${result.outs.missing.map((m) => m.path).join(', ')}`)] : []),
  ]);
}

export function expBranchCmd({ out, flags }: ActionContext<object>, run: string, branch: string): void {
  const repo = commandRepo(flags);
  const { db } = openShared(repo);
  let result;
  try {
    result = branchRun(repo, db, run, branch);
  } finally {
    db.close();
  }
  out.result(
    result,
    () =>
      `Created branch ${stdoutColor.bold(result.branch)} at ${result.commit.slice(0, 7)} (run ${result.run}; ${result.files.join(', ') || 'no files changed'}).`,
  );
  if (result.missing.length)
    out.warn(`not in the cache, so not in the branch: ${result.missing.join(', ')} (mlo status on the branch will show them; run the stage there)`);
}

export function expRemoveCmd({ out, flags }: ActionContext<object>, runs: string[]): void {
  const repo = commandRepo(flags);
  const { db, loc } = openShared(repo);
  let removed: string[];
  try {
    removed = removeRuns(db, loc, runs);
  } finally {
    db.close();
  }
  out.result({ removed }, () => `Removed ${plural(removed.length, 'run')}: ${removed.join(', ')}`);
}
