/**
 * The runs table's filter: space-separated terms, all of which a run must match. `key=value`,
 * `key!=value`, `key<n`, `key<=n`, `key>n`, `key>=n` and `key~text` compare a run field (status, branch,
 * commit, experiment, name, id), a metric, a param or a tag, the first that has the key; a bare word matches any of the run fields.
 */
export interface RunRow {
  id: string;
  name: string | null;
  experiment: string;
  status: string;
  start: string | null;
  commit: string | null;
  branch: string | null;
  params: Record<string, string>;
  metrics: Record<string, number | string>;
  /** From /api/tags (exp show has none). */
  tags?: Record<string, string>;
}

const FIELDS = ['id', 'name', 'experiment', 'status', 'branch', 'commit'] as const;
const TERM = /^([^<>=!~]+)(<=|>=|!=|=|<|>|~)(.*)$/;

export type Predicate = (r: RunRow) => boolean;

export function runValue(r: RunRow, key: string): string | number | null {
  if ((FIELDS as readonly string[]).includes(key)) return r[key as (typeof FIELDS)[number]] ?? null;
  if (key in r.metrics) return r.metrics[key];
  if (key in r.params) return r.params[key];
  if (r.tags && key in r.tags) return r.tags[key];
  return null;
}

function termPredicate(term: string): Predicate {
  const m = TERM.exec(term);
  if (!m) {
    const word = term.toLowerCase();
    return (r) =>
      FIELDS.some((f) =>
        String(r[f] ?? '')
          .toLowerCase()
          .includes(word),
      );
  }
  const [, key, op, want] = m;
  const wantNum = Number(want);
  const numeric = want.trim() !== '' && Number.isFinite(wantNum);
  return (r) => {
    const v = runValue(r, key);
    if (v === null) return op === '!=';
    const n = typeof v === 'number' ? v : Number(v);
    switch (op) {
      case '=':
        return numeric && Number.isFinite(n) ? n === wantNum : String(v) === want;
      case '!=':
        return numeric && Number.isFinite(n) ? n !== wantNum : String(v) !== want;
      case '~':
        return String(v).toLowerCase().includes(want.toLowerCase());
      case '<':
        return Number.isFinite(n) && n < wantNum;
      case '<=':
        return Number.isFinite(n) && n <= wantNum;
      case '>':
        return Number.isFinite(n) && n > wantNum;
      default:
        return Number.isFinite(n) && n >= wantNum;
    }
  };
}

export function parseFilter(text: string): Predicate | undefined {
  const terms = text.trim().split(/\s+/).filter(Boolean);
  if (!terms.length) return undefined;
  const preds = terms.map(termPredicate);
  return (r) => preds.every((p) => p(r));
}

/** Sorts in place: numbers before text, runs without the key last. */
export function sortRuns(rows: RunRow[], key: string, desc: boolean): void {
  const dir = desc ? -1 : 1;
  rows.sort((a, b) => {
    const va = runValue(a, key);
    const vb = runValue(b, key);
    if (va === null || vb === null) return va === vb ? 0 : va === null ? 1 : -1;
    const na = typeof va === 'number' ? va : Number(va);
    const nb = typeof vb === 'number' ? vb : Number(vb);
    const numA = va !== '' && Number.isFinite(na);
    const numB = vb !== '' && Number.isFinite(nb);
    if (numA && numB) return (na - nb) * dir;
    if (numA !== numB) return numA ? -1 : 1;
    return String(va).localeCompare(String(vb)) * dir;
  });
}
