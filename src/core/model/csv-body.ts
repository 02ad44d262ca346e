/**
 * A `text/csv` body for `/invocations` (or a CSV input example): a header row of column names, then
 * rows, as MLflow's scoring server reads it with pandas.read_csv. The columns then map onto the model
 * through its feature contract (codec.ts `frame`), by name. Bodies are bounded by --max-body, so the
 * whole text is parsed at once.
 */
import { frame, type Feeds, type Signature } from './codec.js';
import { InputError } from './runtime.js';

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface CsvTable {
  columns: string[];
  rows: unknown[][];
}

/** RFC 4180 fields (quotes, doubled quotes, CRLF); numbers become numbers, empty cells null. */
export function parseCsvBody(text: string): CsvTable {
  const records: { cells: string[]; quoted: boolean[] }[] = [];
  let cells: string[] = [];
  let quoted: boolean[] = [];
  let cell = '';
  let isQuoted = false;
  let i = 0;
  const endCell = () => {
    cells.push(cell);
    quoted.push(isQuoted);
    cell = '';
    isQuoted = false;
  };
  const endRecord = () => {
    endCell();
    // A blank line (one empty unquoted cell) is no record, as in pandas.
    if (!(cells.length === 1 && cells[0] === '' && !quoted[0])) records.push({ cells, quoted });
    cells = [];
    quoted = [];
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"' && cell === '' && !isQuoted) {
      isQuoted = true;
      i++;
      for (;;) {
        if (i >= text.length) throw new InputError(`the CSV body has an unclosed quote in row ${records.length + 1}`);
        const q = text[i];
        if (q === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        cell += q;
        i++;
      }
      continue;
    }
    if (c === ',') endCell();
    else if (c === '\n') endRecord();
    else if (c !== '\r') cell += c;
    i++;
  }
  if (cell !== '' || isQuoted || cells.length > 0) endRecord();
  if (records.length === 0) throw new InputError('the CSV body is empty; send a header row of column names, then rows');
  const columns = records[0].cells.map((s) => s.trim());
  if (columns.some((c) => c === ''))
    throw new InputError(`the CSV header has an empty column name (${columns.join(',')}); the first row must name the columns`);
  const rows = records.slice(1).map((r, n) => {
    if (r.cells.length !== columns.length) {
      throw new InputError(`row ${n + 1} of the CSV body has ${r.cells.length} values; the header names ${columns.length} columns`);
    }
    return r.cells.map((v, j) => {
      const t = r.quoted[j] ? v : v.trim();
      if (t === '' && !r.quoted[j]) return null;
      return NUMBER_RE.test(t) ? Number(t) : t;
    });
  });
  if (rows.length === 0) throw new InputError('the CSV body has a header but no rows');
  return { columns, rows };
}

export function decodeCsv(sig: Signature, text: string): Feeds {
  const { columns, rows } = parseCsvBody(text);
  return frame(sig, columns, rows);
}
