import type { DataFormat } from '../../core/monitor/dataset.js';
import { inferSchema } from '../../core/monitor/infer.js';
import type { ActionContext } from '../action.js';

export interface SchemaInferFlags {
  output?: string;
  format?: DataFormat;
  model?: string;
  maxCategories: number;
  strict?: boolean;
}

export function schemaInfer({ out, flags, opts }: ActionContext<SchemaInferFlags>, data: string): void {
  const r = inferSchema({
    cwd: flags.cwd,
    data,
    output: opts.output,
    format: opts.format,
    model: opts.model,
    maxCategories: opts.maxCategories,
    strict: opts.strict,
  });
  const columns = Object.keys(r.schema.columns).length;
  out.result(r.output ? { file: r.file, format: r.format, rows: r.rows, output: r.output, schema: r.schema } : r.schema, () =>
    r.output
      ? `Wrote ${r.output}: ${columns} columns inferred from ${r.rows} rows of ${r.file}.\nReview it (${opts.strict ? 'ranges are exactly what this file holds' : 'ranges are widened beyond what this file holds'}; see docs/monitoring.md), then: mlo validate DATA --schema ${r.output}`
      : r.yaml.trimEnd(),
  );
}
