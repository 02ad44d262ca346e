import type { DataFormat } from '../../core/monitor/dataset.js';
import { inferSchema } from '../../core/monitor/schema.js';
import type { ActionContext } from '../action.js';

export interface SchemaInferFlags {
  output?: string;
  format?: DataFormat;
  model?: string;
  maxCategories: number;
}

export function schemaInfer({ out, flags, opts }: ActionContext<SchemaInferFlags>, data: string): void {
  const r = inferSchema({ cwd: flags.cwd, data, output: opts.output, format: opts.format, model: opts.model, maxCategories: opts.maxCategories });
  const columns = Object.keys(r.schema.columns).length;
  out.result(r.output ? { file: r.file, format: r.format, rows: r.rows, output: r.output, schema: r.schema } : r.schema, () =>
    r.output
      ? `Wrote ${r.output}: ${columns} columns inferred from ${r.rows} rows of ${r.file}.\nReview it (ranges and categories are what this file holds), then: mlo validate DATA --schema ${r.output}`
      : r.yaml.trimEnd(),
  );
}
