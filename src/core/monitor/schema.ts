/**
 * Data schemas: `mlo schema infer` drafts one from a data file, `mlo validate` checks a file against it.
 * Both stream the data once. The schema file is YAML (a subset of what pandera, TFDV and Great
 * Expectations describe: column type, nullability, range, allowed categories, uniqueness, NaN and
 * infinity, row-count bounds), read through the zod schema below so errors name file, line and key.
 *
 * The schema file format and validation live here; inference (infer.ts) writes the file through
 * schemaYaml, so what `schema infer` writes is exactly what `validate` reads.
 */
import { isAbsolute, resolve } from 'node:path';
import { Document, visit } from 'yaml';
import { z } from 'zod';
import { MloError, isMloError } from '../../base/errors.js';
import { readYamlFile } from '../../base/yamlfile.js';
import { CELL, type CellKind, type Column } from '../../base/tabular/index.js';
import { openData, type DataFormat } from './dataset.js';

export const COLUMN_TYPES = ['int', 'float', 'string', 'bool'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

const columnSchema = z
  .object({
    type: z.enum(COLUMN_TYPES),
    /** Missing values (empty CSV fields, NA, null) allowed. */
    nullable: z.boolean().default(false),
    /** The column must exist in the data. */
    required: z.boolean().default(true),
    min: z.number().optional(),
    max: z.number().optional(),
    /** The only values allowed. */
    categories: z
      .array(z.union([z.string(), z.number(), z.boolean()]))
      .min(1)
      .optional(),
    unique: z.boolean().default(false),
    /**
     * `id`: an identifier (unique, monotone or dense integers, or unique strings). It gets no range, and
     * `mlo monitor drift` leaves it out: a fresh batch of ids is new by design, not drift.
     */
    role: z.enum(['id']).optional(),
    /** Share of the non-null values that may fall outside `categories` before the rule fails (0 to 1). */
    unseen: z.number().min(0).max(1).default(0),
    /** NaN allowed (float columns). */
    nan: z.boolean().default(false),
    /** +Infinity and -Infinity allowed (float columns). */
    inf: z.boolean().default(false),
    description: z.string().optional(),
  })
  .strict()
  .refine((c) => c.min === undefined || c.max === undefined || c.min <= c.max, { message: 'min is greater than max', path: ['min'] });

export const dataSchemaSchema = z
  .object({
    version: z.literal(1),
    rows: z
      .object({ min: z.number().int().nonnegative().optional(), max: z.number().int().nonnegative().optional() })
      .strict()
      .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, { message: 'min is greater than max', path: ['min'] })
      .optional(),
    /** Columns in the data that the schema does not list are a violation unless this is true. */
    allow_extra_columns: z.boolean().default(false),
    columns: z.record(columnSchema),
  })
  .strict();

export type DataSchema = z.infer<typeof dataSchemaSchema>;
export type ColumnSchema = z.infer<typeof columnSchema>;

export function readDataSchema(file: string, cwd: string): DataSchema {
  const path = isAbsolute(file) ? file : resolve(cwd, file);
  try {
    return readYamlFile(path, dataSchemaSchema, file).value;
  } catch (err) {
    // Same message (file:line: key: problem), but point at this file's documentation.
    if (isMloError(err, 'MLO_BAD_FILE')) {
      throw new MloError(err.code, err.message, {
        hint: 'see the schema file format in docs/monitoring.md (mlo schema infer writes a starting point)',
        meta: err.meta,
      });
    }
    throw err;
  }
}

/** The schema as YAML, defaults left out, with a header saying where it came from. */
export function schemaYaml(schema: DataSchema, from: string, rows: number, strict = false): string {
  const columns: Record<string, Record<string, unknown>> = {};
  for (const [name, c] of Object.entries(schema.columns)) {
    const out: Record<string, unknown> = { type: c.type, nullable: c.nullable };
    if (!c.required) out.required = false;
    if (c.min !== undefined) out.min = c.min;
    if (c.max !== undefined) out.max = c.max;
    if (c.nan) out.nan = true;
    if (c.inf) out.inf = true;
    if (c.unique) out.unique = true;
    if (c.role) out.role = c.role;
    if (c.categories) out.categories = c.categories;
    if (c.unseen) out.unseen = c.unseen;
    if (c.description) out.description = c.description;
    columns[name] = out;
  }
  const doc: Record<string, unknown> = { version: 1 };
  if (schema.rows) doc.rows = schema.rows;
  if (schema.allow_extra_columns) doc.allow_extra_columns = true;
  doc.columns = columns;
  const header = [
    `# Data schema inferred by mlo from ${from} (${rows} rows).`,
    strict
      ? '# Exact observed ranges (--strict): other samples of the same data may well fall outside them.'
      : '# Ranges are widened beyond what this file holds; id columns (role: id) have none. See docs/monitoring.md.',
  ];
  const yamlDoc = new Document(doc);
  // Category lists read best on one line: categories: [free, pro, team]
  visit(yamlDoc, {
    Seq(_, node) {
      node.flow = true;
    },
  });
  return `${header.join('\n')}\n${yamlDoc.toString({ lineWidth: 0, flowCollectionPadding: false })}`;
}

// ---------------------------------------------------------------------------------------------------
// Validation

export const RULES = ['required', 'extra_column', 'type', 'not_null', 'min', 'max', 'categories', 'unique', 'nan', 'inf', 'rows_min', 'rows_max'] as const;
export type Rule = (typeof RULES)[number];

export interface Violation {
  /** null for rules about the whole file (row counts). */
  column: string | null;
  rule: Rule;
  /** What the schema asks, in words ("<= 120", "int", "one of a, b"). */
  expected: string;
  /** Rows that break the rule (for required / extra_column: every row). */
  count: number;
  examples: { row: number; value: string }[];
}

export interface ValidateOptions {
  cwd: string;
  data: string;
  schema: string;
  format?: DataFormat;
  model?: string;
  /** Example rows kept per violation (default 5). */
  maxExamples?: number;
}

export interface ValidationReport {
  file: string;
  schema: string;
  format: DataFormat;
  rows: number;
  columns: number;
  ok: boolean;
  violations: Violation[];
}

interface ColumnCheck {
  name: string;
  spec: ColumnSchema;
  seen: boolean;
  /** Rows before the column first appeared (JSON lines), all null. */
  absentRows: number;
  firstAbsentRow: number;
  categoryText?: Set<string>;
  categoryNumbers?: Set<number>;
  /** Values checked against `categories` (the denominator of the `unseen` tolerance). */
  categorized: number;
  values?: Set<string | number>;
}

export function validateData(options: ValidateOptions): ValidationReport {
  const schema = readDataSchema(options.schema, options.cwd);
  const maxExamples = options.maxExamples ?? 5;
  const source = openData(options.data, { cwd: options.cwd, format: options.format, model: options.model });
  const checks: ColumnCheck[] = Object.entries(schema.columns).map(([name, spec]) => {
    const c: ColumnCheck = { name, spec, seen: false, absentRows: 0, firstAbsentRow: 0, categorized: 0 };
    if (spec.categories) {
      c.categoryText = new Set(spec.categories.map(String));
      c.categoryNumbers = new Set(spec.categories.filter((v): v is number => typeof v === 'number'));
      for (const v of spec.categories) {
        if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) c.categoryNumbers.add(Number(v));
      }
    }
    if (spec.unique) c.values = new Set();
    return c;
  });
  const byName = new Map(checks.map((c) => [c.name, c]));
  const violations = new Map<string, Violation>();
  const extra = new Map<string, number>(); // extra column -> first row seen
  const hit = (column: string | null, rule: Rule, expected: string, row: number, value: string, count = 1) => {
    const key = `${column}\u0000${rule}`;
    let v = violations.get(key);
    if (!v) violations.set(key, (v = { column, rule, expected, count: 0, examples: [] }));
    v.count += count;
    if (v.examples.length < maxExamples) v.examples.push({ row, value });
  };

  let rows = 0;
  for (const batch of source.batches()) {
    const present = new Set(batch.names);
    for (const name of batch.names) {
      if (!byName.has(name) && !schema.allow_extra_columns && !extra.has(name)) extra.set(name, batch.firstRow);
    }
    for (const c of checks) {
      if (!present.has(c.name)) {
        if (c.absentRows === 0) c.firstAbsentRow = batch.firstRow;
        c.absentRows += batch.length;
        continue;
      }
      if (!c.seen) {
        c.seen = true;
        if (c.absentRows > 0 && !c.spec.nullable) hit(c.name, 'not_null', 'a value', c.firstAbsentRow, '(absent)', c.absentRows);
      }
      checkColumn(batch.column(c.name), c, batch.firstRow, hit);
    }
    rows += batch.length;
  }

  for (const c of checks) {
    if (c.seen) continue;
    // Never present: one violation when it is required, nothing when it is optional.
    violations.delete(`${c.name}\u0000not_null`);
    if (c.spec.required) hit(c.name, 'required', 'the column to exist', 0, '(absent)', rows);
  }
  for (const c of checks) {
    // Unseen categories within the column's tolerance are not a violation (counted over the whole file).
    const key = `${c.name}\u0000categories`;
    const v = violations.get(key);
    if (v && c.spec.unseen > 0 && v.count <= c.spec.unseen * c.categorized) violations.delete(key);
  }
  for (const [name, row] of extra) hit(name, 'extra_column', 'no such column (allow_extra_columns is false)', row, '(column)', rows);
  if (schema.rows?.min !== undefined && rows < schema.rows.min) hit(null, 'rows_min', `at least ${schema.rows.min} rows`, 0, String(rows));
  if (schema.rows?.max !== undefined && rows > schema.rows.max) hit(null, 'rows_max', `at most ${schema.rows.max} rows`, 0, String(rows));

  const order = (v: Violation) => (v.column === null ? -1 : checks.findIndex((c) => c.name === v.column));
  const list = [...violations.values()].sort((a, b) => order(a) - order(b) || RULES.indexOf(a.rule) - RULES.indexOf(b.rule));
  return {
    file: source.file,
    schema: options.schema,
    format: source.format,
    rows,
    columns: checks.length,
    ok: list.length === 0,
    violations: list,
  };
}

type Hit = (column: string | null, rule: Rule, expected: string, row: number, value: string, count?: number) => void;

function checkColumn(col: Column, c: ColumnCheck, firstRow: number, hit: Hit): void {
  const s = c.spec;
  const n = col.length;
  const name = c.name;
  for (let i = 0; i < n; i++) {
    const kind = col.read(i);
    if (kind === CELL.null) {
      if (!s.nullable) hit(name, 'not_null', 'a value', firstRow + i, '');
      continue;
    }
    const v = col.num;
    const numeric = kind === CELL.int || kind === CELL.float;
    if (!typeOk(s.type, kind)) {
      hit(name, 'type', s.type, firstRow + i, col.text(i));
      continue;
    }
    if (numeric && s.type !== 'string') {
      if (Number.isNaN(v)) {
        if (!s.nan) hit(name, 'nan', 'no NaN', firstRow + i, col.text(i));
        continue;
      }
      if (v === Infinity || v === -Infinity) {
        // Infinities answer to `inf` alone; min and max bound the finite values.
        if (!s.inf) hit(name, 'inf', 'no infinity', firstRow + i, col.text(i));
        continue;
      }
      if (s.min !== undefined && v < s.min) hit(name, 'min', `>= ${s.min}`, firstRow + i, col.text(i));
      if (s.max !== undefined && v > s.max) hit(name, 'max', `<= ${s.max}`, firstRow + i, col.text(i));
    }
    if (c.categoryText) {
      c.categorized++;
      const ok = numeric && s.type !== 'string' ? c.categoryNumbers!.has(v) : c.categoryText.has(kind === CELL.bool ? (v ? 'true' : 'false') : col.text(i));
      if (!ok)
        hit(
          name,
          'categories',
          `one of ${[...c.categoryText].slice(0, 8).join(', ')}${c.categoryText.size > 8 ? ', ...' : ''}${s.unseen > 0 ? ` (${s.unseen * 100}% unseen allowed)` : ''}`,
          firstRow + i,
          col.text(i),
        );
    }
    if (c.values) {
      const key = numeric && s.type !== 'string' ? v : kind === CELL.bool ? String(v === 1) : col.text(i);
      if (c.values.has(key)) hit(name, 'unique', 'no duplicates', firstRow + i, col.text(i));
      else c.values.add(key);
    }
  }
}

function typeOk(type: ColumnType, kind: CellKind): boolean {
  switch (type) {
    case 'string':
      return true;
    case 'int':
      return kind === CELL.int;
    case 'float':
      return kind === CELL.int || kind === CELL.float;
    case 'bool':
      return kind === CELL.bool;
  }
}
