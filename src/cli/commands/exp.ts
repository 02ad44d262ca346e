import { MloError, usageError } from '../../base/errors.js';
import type { Repo } from '../../core/repo/repo.js';
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
import { displayWidth, pad, stderrColor, stdoutColor, table, type Output } from '../output.js';
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
      return { ok: r.ok, interrupted: r.interrupted };
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
    return report(out, result, false);
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
  report(out, result, true);
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

function report(out: Output, result: ExpRunResult, inWorkspace: boolean): void {
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
  out.result(result, () => [
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
}

function createdOf(r: RunSummary): string {
  return r.start ? r.start.slice(0, 16).replace('T', ' ') : '-';
}

export function expShowCmd({ out, flags, opts }: ActionContext<ExpShowFlags>): void {
  const repo = commandRepo(flags);
  const { db } = openShared(repo);
  const options = { sortBy: opts.sortBy, sortOrder: opts.sortOrder, onlyChanged: opts.onlyChanged, limit: opts.limit, experiment: opts.experiment };
  let result: ShowResult;
  try {
    if (flags.json) {
      // Spliced from SQLite's JSON: 10,000 runs x 20 metrics are never parsed and re-serialised.
      out.print(showRunsJson(db, options));
      return;
    }
    result = showRuns(db, options);
  } finally {
    db.close();
  }
  const p = opts.precision ?? 5;
  const { params, metrics } = result.columns;
  if (!flags.json && (opts.csv || opts.md)) {
    const header = ['run', 'name', 'status', 'created', 'commit', ...params, ...metrics];
    const rows = result.runs.map((r) => [
      r.id,
      r.name ?? '',
      r.status,
      r.start ?? '',
      r.commit ?? '',
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
    const header = ['Run', 'Name', 'Status', 'Created', 'Commit', ...params, ...metrics];
    const best = metrics.map((k) => result.best[k]?.run);
    const cell = (r: RunSummary, col: number): string => {
      if (col < 5)
        return col === 0
          ? r.id.slice(0, 7)
          : col === 1
            ? (r.name ?? '')
            : col === 2
              ? r.status
              : col === 3
                ? createdOf(r)
                : r.commit
                  ? r.commit.slice(0, 7) + (r.dirty ? '*' : '')
                  : '-';
      if (col < 5 + params.length) return r.params[params[col - 5]] ?? '-';
      const m = col - 5 - params.length;
      return formatValue(r.metrics[metrics[m]], p) + (plain && best[m] === r.id ? ' ★' : '');
    };
    const lines = fastTable(header, result.runs, cell, (r, col, padded) => {
      if (col === 2 && r.status !== 'finished') return r.status === 'failed' ? stdoutColor.red(padded) : stdoutColor.yellow(padded);
      const m = col - 5 - params.length;
      return !plain && m >= 0 && best[m] === r.id ? stdoutColor.bold(stdoutColor.green(padded)) : padded;
    });
    if (result.total > result.runs.length) lines.push(stdoutColor.dim(`(${result.runs.length} of ${result.total} runs; --limit to change)`));
    if (metrics.length)
      lines.push(stdoutColor.dim(`${plain ? '★' : 'Green'}: the best value of each metric (lowest for loss/error-like names, else highest).`));
    return lines;
  });
}

/**
 * An aligned table for `exp show`: widths come from the plain text and colour is applied after
 * padding (output.ts's table() strips ANSI codes from every cell, too slow for 10,000 runs x 30
 * columns); each cell is formatted once, and lines are built with join (no long cons-string chains).
 */
function fastTable<R>(header: string[], rows: R[], cell: (row: R, col: number) => string, style: (row: R, col: number, padded: string) => string): string[] {
  const cols = header.length;
  const cells = new Array<string>(rows.length * cols);
  const widths = header.map(displayWidth);
  for (let r = 0; r < rows.length; r++) {
    for (let i = 0; i < cols; i++) {
      const c = cell(rows[r], i);
      cells[r * cols + i] = c;
      const width = displayWidth(c);
      if (width > widths[i]) widths[i] = width;
    }
  }
  const last = cols - 1;
  const lines = [stdoutColor.bold(header.map((h, i) => (i === last ? h : pad(h, widths[i]))).join('  '))];
  const parts = new Array<string>(cols);
  for (let r = 0; r < rows.length; r++) {
    for (let i = 0; i < cols; i++) {
      const c = cells[r * cols + i];
      parts[i] = style(rows[r], i, i === last ? c : pad(c, widths[i]));
    }
    lines.push(parts.join('  '));
  }
  return lines;
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
