import type { DataFormat } from '../../core/monitor/dataset.js';
import { detectDrift, fmt, type DriftReport, type DriftTest } from '../../core/monitor/drift.js';
import { writeDriftHtml } from '../../core/monitor/html.js';
import { formatAge, serveStatus, type StatusReport } from '../../core/monitor/status.js';
import type { ActionContext, Outcome } from '../action.js';
import { commandRepo } from '../repo.js';
import { stdoutColor, table } from '../output.js';

export interface DriftFlags {
  reference: string;
  current: string;
  referenceFormat?: DataFormat;
  currentFormat?: DataFormat;
  model?: string;
  tests?: string[];
  psiThreshold: number;
  psiBins: number;
  ksP: number;
  chi2P: number;
  jsThreshold: number;
  driftShare?: number;
  columns?: string[];
  exclude?: string[];
  categorical?: string[];
  numeric?: string[];
  maxNumericCategories: number;
  html?: string;
}

export async function monitorDrift({ out, flags, opts }: ActionContext<DriftFlags>): Promise<Outcome> {
  const report = await detectDrift({
    cwd: flags.cwd,
    reference: opts.reference,
    current: opts.current,
    referenceFormat: opts.referenceFormat,
    currentFormat: opts.currentFormat,
    model: opts.model,
    tests: opts.tests as DriftTest[] | undefined,
    psiThreshold: opts.psiThreshold,
    psiBins: opts.psiBins,
    ksP: opts.ksP,
    chi2P: opts.chi2P,
    jsThreshold: opts.jsThreshold,
    driftShare: opts.driftShare,
    columns: opts.columns,
    exclude: opts.exclude,
    categorical: opts.categorical,
    numeric: opts.numeric,
    maxNumericCategories: opts.maxNumericCategories,
    repo: commandRepo(flags, { optional: true }),
  });
  const html = opts.html ? writeDriftHtml(report, opts.html, flags.cwd) : undefined;
  out.result(html ? { ...report, html: opts.html } : report, () => renderDrift(report, opts.html));
  // Drift is a finding, not an error: the report is printed, and the exit code stops a pipeline.
  return { failed: report.drift };
}

function renderDrift(r: DriftReport, html?: string): string[] {
  const head = r.drift ? stdoutColor.red('DRIFT') : stdoutColor.green('OK');
  const lines = [
    `${head} ${r.drifted} of ${r.compared} columns drifted${r.predictionDrift ? ', including predictions' : ''} (reference ${r.reference.file}: ${r.reference.rows} rows; current ${r.current.file}: ${r.current.rows} rows)`,
    `  ${r.compared} ${r.compared === 1 ? 'column' : 'columns'} compared, ${r.skipped.length} not compared`,
  ];
  for (const n of r.notes) lines.push(stdoutColor.dim(`  note: ${n}`));
  const dash = stdoutColor.dim('-');
  const rows = r.features.map((f) => [
    f.column,
    f.type === 'numeric' ? 'numeric' : 'categorical',
    f.psi === undefined ? dash : fmt(f.psi),
    f.ks ? fmt(f.ks.statistic) : dash,
    f.ks ? fmt(f.ks.pvalue) : dash,
    f.chi2 ? fmt(f.chi2.pvalue) : dash,
    f.js === undefined ? dash : fmt(f.js),
    f.drifted ? stdoutColor.red(`yes: ${f.reasons.join('; ')}`) : 'no',
  ]);
  if (rows.length) lines.push(...table(['column', 'type', 'PSI', 'KS D', 'KS p', 'chi2 p', 'JS', 'drift'], rows).map((l) => `  ${l}`));
  for (const s of r.skipped) lines.push(stdoutColor.dim(`  not compared: ${s.column} (${s.reason})`));
  if (r.arms) {
    lines.push('By model version (each arm against the same reference):');
    const arms = r.arms.map((a) => [
      `${a.model ?? '-'}@${a.version ?? '-'}`,
      String(a.rows),
      `${a.drifted} of ${a.compared}`,
      a.drift
        ? stdoutColor.red(
            `yes: ${a.features
              .filter((f) => f.drifted)
              .map((f) => f.column)
              .join(', ')}`,
          )
        : 'no',
    ]);
    lines.push(...table(['arm', 'rows', 'drifted', 'drift'], arms).map((l) => `  ${l}`));
  }
  if (html) lines.push(`HTML report: ${html}`);
  return lines;
}

export interface StatusFlags {
  log: string;
  model?: string;
  maxAge: string;
  maxErrorRate: number;
  since?: string;
  window?: string;
  now?: string;
}

export function monitorStatus({ out, flags, opts }: ActionContext<StatusFlags>): Outcome {
  const report = serveStatus({
    cwd: flags.cwd,
    log: opts.log,
    model: opts.model,
    maxAge: opts.maxAge,
    maxErrorRate: opts.maxErrorRate,
    since: opts.since,
    window: opts.window,
    now: opts.now,
  });
  out.result(report, () => renderStatus(report));
  return { failed: !report.ok };
}

function renderStatus(r: StatusReport): string[] {
  const ms = (v: number | undefined) => (v === undefined ? '-' : v < 10 ? v.toFixed(2) : v.toFixed(1));
  const rows = r.models.map((m) => [
    m.model,
    String(m.version ?? '-'),
    String(m.requests),
    `${(m.errorRate * 100).toFixed(1)}%`,
    ms(m.latencyMs?.p50),
    ms(m.latencyMs?.p90),
    ms(m.latencyMs?.p99),
    m.lastRequest ?? '-',
    formatAge(m.ageSeconds),
    m.ok ? stdoutColor.green('ok') : stdoutColor.red(m.problems.join('; ')),
  ]);
  const lines = table(['model', 'version', 'requests', 'errors', 'p50 ms', 'p90 ms', 'p99 ms', 'last request', 'age', 'status'], rows);
  const num = (v: number | undefined) => (v === undefined ? '-' : fmt(v));
  const predictions = r.models.flatMap((m) =>
    Object.entries(m.predictions).map(([name, p]) => [
      m.arm,
      name,
      String(p.count),
      num(p.mean),
      p.p50 === undefined ? '-' : `${num(p.p10)} / ${num(p.p50)} / ${num(p.p90)}`,
      p.values
        ? Object.entries(p.values)
            .slice(0, 5)
            .map(([k, n]) => `${k}: ${n}`)
            .join(', ')
        : '-',
    ]),
  );
  if (predictions.length) {
    lines.push('Predictions by arm:');
    lines.push(...table(['arm', 'output', 'count', 'mean', 'p10 / p50 / p90', 'values'], predictions).map((l) => `  ${l}`));
  }
  const replaced = r.models.filter((m) => !m.current);
  if (replaced.length) lines.push(stdoutColor.dim(`replaced by a later version (not checked against the limits): ${replaced.map((m) => m.arm).join(', ')}`));
  lines.push(
    stdoutColor.dim(
      `limits: age ${r.maxAge}, error rate ${(r.maxErrorRate * 100).toFixed(1)}%${r.window ? `; requests in the last ${r.window}` : ''}; as of ${r.now}`,
    ),
  );
  return lines;
}
