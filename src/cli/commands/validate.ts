import type { DataFormat } from '../../core/monitor/dataset.js';
import { validateData, type ValidationReport } from '../../core/monitor/schema.js';
import type { ActionContext, Outcome } from '../action.js';
import { stdoutColor, table } from '../output.js';
import { plural } from '../../base/plural.js';

export interface ValidateFlags {
  schema: string;
  format?: DataFormat;
  model?: string;
  maxExamples: number;
}

export function validate({ out, flags, opts }: ActionContext<ValidateFlags>, data: string): Outcome {
  const report = validateData({ cwd: flags.cwd, data, schema: opts.schema, format: opts.format, model: opts.model, maxExamples: opts.maxExamples });
  out.result(report, () => render(report));
  // A failed check is a result, not an error: the report is already printed (one JSON document under
  // --json), so only the exit code says it failed, and a pipeline stage running validate stops.
  return { failed: !report.ok };
}

function render(r: ValidationReport): string[] {
  if (r.ok) return [`${stdoutColor.green('OK')} ${r.file} matches ${r.schema} (${r.rows} rows, ${r.columns} columns)`];
  const n = r.violations.length;
  const lines = [`${stdoutColor.red('FAIL')} ${r.file}: ${plural(n, 'rule')} failed (${r.rows} rows checked against ${r.schema})`];
  const rows = r.violations.map((v) => [
    v.column ?? '(file)',
    v.rule,
    String(v.count),
    v.expected,
    v.examples
      .filter((e) => e.row > 0)
      .map((e) => `row ${e.row}: ${e.value === '' ? '(empty)' : JSON.stringify(e.value).slice(1, -1)}`)
      .join(', ') || v.examples.map((e) => e.value).join(', '),
  ]);
  lines.push(...table(['column', 'rule', 'rows', 'expected', 'examples'], rows).map((l) => `  ${l}`));
  return lines;
}
