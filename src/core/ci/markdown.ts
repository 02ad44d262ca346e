/**
 * The Markdown of `mlo ci report`: a pure function of the report, for a pull-request comment (GitHub
 * and GitLab flavoured Markdown). The metrics and params tables have the columns of
 * `mlo metrics diff --md` / `mlo params diff --md`, so a comment reads like the command output.
 */
import { fmt } from '../monitor/drift.js';
import { formatChange, formatPct, formatValue, markdownTable } from '../tracking/format.js';
import type { CiReport, DiffSection, DriftEntry, GateResult, GatesSection, PipelineSection, SectionError, ValidationEntry } from './types.js';
import { plural } from '../../base/plural.js';

/** First line of every report: CI scripts find the comment to update by it. */
export const REPORT_MARKER = '<!-- mlo-ci-report -->';

const OK = '✅';
const FAIL = '❌';

export function renderCiMarkdown(r: Omit<CiReport, 'markdown'>): string {
  const base = r.base.rev;
  const head = r.head.sha ? `the workspace (HEAD \`${r.head.sha.slice(0, 7)}\`)` : 'the workspace';
  const lines = [REPORT_MARKER, '## mlo report', '', `Comparing ${head} with \`${base}\` (\`${r.base.sha.slice(0, 7)}\`).`];
  if (r.failed.length) lines.push('', `${FAIL} **Failed: ${r.failed.join(', ')}.**`);
  if (r.metrics) lines.push('', '### Metrics', '', ...diffLines(r.metrics, 'Metric', base));
  if (r.gates) lines.push('', '### Metric gates', '', ...gateLines(r.gates, base));
  if (r.params) lines.push('', '### Params', '', ...diffLines(r.params, 'Param', base));
  if (r.validation.length) lines.push('', '### Data validation', ...r.validation.flatMap(validationLines));
  if (r.drift.length) lines.push('', '### Drift', ...r.drift.flatMap(driftLines));
  if (r.pipeline) lines.push('', '### Pipeline', '', ...pipelineLines(r.pipeline));
  if (r.plotsUrl) lines.push('', `📈 [Plots](<${r.plotsUrl}>)`);
  return `${lines.join('\n')}\n`;
}

function diffLines(s: DiffSection, what: 'Metric' | 'Param', base: string): string[] {
  const noun = what.toLowerCase();
  // The error line already names the first unreadable file; the list gives the rest.
  const listed = (s.missing ?? []).filter((m) => !s.error?.message.startsWith(m.message));
  const lacking = listed.map((m) => `- ${code(m.rev)}: ${oneLine(m.message)}${m.hint ? ` (${oneLine(m.hint)})` : ''}`);
  const lackingLines = lacking.length ? ['', 'Not compared:', '', ...lacking] : [];
  if (s.error) return [errorLine(`could not read the ${noun}s`, s.error), ...lackingLines];
  const kept = s.unchanged ? ` (${s.unchanged} unchanged)` : '';
  // "No change" only when both sides had files to compare.
  if (s.diff.length === 0) return lacking.length ? lackingLines.slice(1) : [`No ${noun} changed between \`${base}\` and the workspace${kept}.`];
  const rows =
    what === 'Metric'
      ? s.diff.map((d) => [d.file, d.key, formatValue(d.old), formatValue(d.new), formatChange(d), formatPct(d)])
      : s.diff.map((d) => [d.file, d.key, formatValue(d.old), formatValue(d.new), d.change === null ? '-' : `${formatChange(d)} (${formatPct(d)})`]);
  const header = what === 'Metric' ? ['Path', what, base, 'workspace', 'Change', '%'] : ['Path', what, base, 'workspace', 'Change'];
  const lines = markdownTable(header, rows);
  if (s.unchanged) lines.push('', `_${plural(s.unchanged, `unchanged ${noun}`)} not shown._`);
  return [...lines, ...lackingLines];
}

const GATE_STATUS: Record<GateResult['status'], string> = {
  passed: `${OK} passed`,
  new: `${OK} new (nothing to compare with)`,
  regressed: `${FAIL} regressed`,
  removed: `${FAIL} not in the workspace`,
  'not-a-number': `${FAIL} not a number`,
  'not-found': `${FAIL} no such metric at either revision`,
};

function gateLines(g: GatesSection, base: string): string[] {
  if (g.error) return [errorLine('could not check the metric gates', g.error)];
  const rows = g.results.map((r) => [
    code(r.file === null ? r.metric : `${r.file}:${r.key}`),
    r.better,
    String(r.threshold),
    formatValue(r.base),
    formatValue(r.workspace),
    GATE_STATUS[r.status],
  ]);
  return markdownTable(['Metric', 'Better', 'Threshold', base, 'workspace', 'Result'], rows);
}

function validationLines(v: ValidationEntry): string[] {
  const data = code(v.data);
  if (v.error) return ['', errorLine(`${data} against ${code(v.schema)}`, v.error)];
  const r = v.report!;
  if (r.ok) return ['', `${OK} ${data} matches ${code(v.schema)} (${plural(r.rows, 'row')}, ${plural(r.columns, 'column')})`];
  const rows = r.violations.map((x) => [
    x.column === null ? '(file)' : code(x.column),
    x.rule,
    String(x.count),
    x.expected,
    x.examples.map((e) => (e.row > 0 ? `row ${e.row}: ${cellValue(e.value)}` : cellValue(e.value))).join(', '),
  ]);
  const failed = plural(r.violations.length, 'rule');
  return [
    '',
    `${FAIL} ${data} against ${code(v.schema)}: ${failed} failed (${plural(r.rows, 'row')} checked)`,
    '',
    ...markdownTable(['Column', 'Rule', 'Rows', 'Expected', 'Examples'], rows),
  ];
}

function driftLines(d: DriftEntry): string[] {
  const pair = `${code(d.current)} against ${code(d.reference)}`;
  if (d.error) return ['', errorLine(pair, d.error)];
  const r = d.report!;
  const sizes = `${plural(r.reference.rows, 'reference row')}, ${plural(r.current.rows, 'current row')}`;
  if (!r.drift) return ['', `${OK} ${pair}: no drift in ${plural(r.compared, 'column')} (${sizes})`];
  const lines = [
    '',
    `${FAIL} ${pair}: ${r.drifted} of ${plural(r.compared, 'column')} drifted${r.predictionDrift ? ', including predictions' : ''} (${sizes})`,
    '',
  ];
  const dash = '-';
  const rows = r.features
    .filter((f) => f.drifted)
    .map((f) => [
      code(f.column),
      f.type,
      f.psi === undefined ? dash : fmt(f.psi),
      f.ks ? fmt(f.ks.pvalue) : dash,
      f.chi2 ? fmt(f.chi2.pvalue) : dash,
      f.js === undefined ? dash : fmt(f.js),
      f.reasons.join('; '),
    ]);
  lines.push(...markdownTable(['Column', 'Type', 'PSI', 'KS p', 'chi² p', 'JS', 'Why'], rows));
  return lines;
}

function pipelineLines(p: PipelineSection): string[] {
  if (p.error) return [errorLine('could not read the pipeline', p.error)];
  if (p.changed.length === 0) return [`${OK} Up to date: ${plural(p.stages.length, 'stage')} match mlo.lock.`];
  const lines =
    p.stale.length > 0
      ? [
          `${FAIL} ${p.stale.length} of ${plural(p.stages.length, 'stage')} stale: mlo.lock no longer describes them (\`mlo run\` updates them and mlo.lock):`,
          '',
        ]
      : [
          `${OK} mlo.lock describes every stage; ${p.changed.length} of ${plural(p.stages.length, 'stage')} not stale (outs missing or modified here, which \`mlo pull\` or \`mlo checkout\` restores, or always changed):`,
          '',
        ];
  for (const s of p.stages.filter((x) => x.changed)) {
    const mark = p.stale.length > 0 && !s.stale ? ' (outs only)' : '';
    lines.push(`- ${code(s.name)}${s.frozen ? ' (frozen)' : ''}${mark}: ${s.reasons.map((x) => x.message).join('; ') || s.action}`);
  }
  return lines;
}

/** Some messages carry a code frame; a Markdown list or paragraph needs one line. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

function errorLine(what: string, e: SectionError): string {
  return `${FAIL} ${what}: ${oneLine(e.message)}${e.hint ? ` (${oneLine(e.hint)})` : ''}`;
}

/** An inline code span that survives backticks in the text (CommonMark: a longer fence). */
function code(s: string): string {
  const fence = s.includes('`') ? '``' : '`';
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** A data cell as written: in a code span, so that Markdown or HTML in the data is shown, not rendered. */
function cellValue(v: string): string {
  return v === '' ? '(empty)' : code(v);
}
