/** The shapes every tabular reader (CSV, JSON lines, serve logs) hands out. */

/** What a cell holds. CSV cells are classified from their text; JSON cells from their JSON type. */
export const CELL = { null: 0, int: 1, float: 2, bool: 3, string: 4 } as const;
export type CellKind = (typeof CELL)[keyof typeof CELL];

export const CELL_NAMES = ['null', 'int', 'float', 'bool', 'string'] as const;

/**
 * One column of a batch. `read(i)` classifies cell i and leaves its numeric value in `num` (int and
 * float cells; NaN and ±Infinity are floats; bools are 1/0), so a hot loop parses each cell once.
 */
export interface Column {
  readonly name: string;
  readonly length: number;
  /** Value of the cell last classified by `read` (NaN unless it was int, float or bool). */
  num: number;
  read(i: number): CellKind;
  /** The cell as written (CSV text, JSON strings as is, other JSON values serialized); '' for null. */
  text(i: number): string;
}

/**
 * A run of consecutive rows. Valid until the reader produces the next batch (CSV batches point into
 * the reader's buffer, which is reused).
 */
export interface RowBatch {
  /** Every column seen so far, in order of first appearance (JSON lines may add columns later). */
  readonly names: readonly string[];
  readonly length: number;
  /** 1-based data-row number of the batch's first row (the CSV header is not a row). */
  readonly firstRow: number;
  /** The column with this name; a column absent from the batch reads as all null. */
  column(name: string): Column;
  /** The 1-based source line where row i of the batch starts (for messages). */
  line(i: number): number;
}

export type TableFormat = 'csv' | 'tsv' | 'jsonl';

export interface ReadOptions {
  format?: TableFormat;
  /** The path to name in messages (default: the path read). */
  displayName?: string;
  /** Bytes read per batch (CSV 256 KiB, JSON lines 4 MiB); a batch holds the complete rows in them. */
  chunkBytes?: number;
}
