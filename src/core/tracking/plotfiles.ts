/**
 * The plot files mlo.yaml declares under `plots:` (top level and per stage), read at a revision and
 * turned into Vega-Lite specs by their template: `linear`/`simple`/`smooth` (lines), `scatter`,
 * `confusion`/`confusion_normalized` (a heat map of counts), `roc` and `pr` (curves on a fixed 0-1
 * square). `mlo plots diff` and the UI's revisions page both draw these specs.
 *
 * Paths come from a file of the repository (untrusted): one that is absolute, climbs out with `..`,
 * or (in the workspace) resolves through a symlink to outside the repository is reported, never read.
 */
import { posix } from 'node:path';
import { parseYaml } from '../../base/yamlfile.js';
import { MloError, isMloError } from '../../base/errors.js';
import { resolveRev } from '../../base/git.js';
import type { Repo } from '../repo/repo.js';
import { PIPELINE_FILE } from '../repo/names.js';
import { WORKSPACE } from './revisions.js';
import { revFiles, type MissingFile } from './rev-files.js';
import { insideRepoPath } from '../data/pointer/paths.js';

export const PLOT_TEMPLATES = ['linear', 'simple', 'smooth', 'scatter', 'confusion', 'confusion_normalized', 'roc', 'pr'] as const;
export type PlotTemplate = (typeof PLOT_TEMPLATES)[number];

export interface PlotDecl {
  file: string;
  template: PlotTemplate;
  x?: string;
  y?: string;
  title?: string;
  xLabel?: string;
  yLabel?: string;
}

export interface DeclaredPlot extends PlotDecl {
  /** The revisions whose data the plot holds. */
  revs: string[];
  /** Vega-Lite, with the data inline; absent when no revision had rows to draw (see `problems`). */
  spec?: Record<string, unknown>;
  rows: number;
  /** Why a revision's data is missing from the plot. */
  problems?: string[];
}

/** Rows kept per plot: a page of charts stays responsive; the rest is counted, not drawn. */
const MAX_ROWS = 20_000;

type Obj = Record<string, unknown>;

/** A plots file path inside the repository; an uninterpolated `${...}` names no file yet. */
function safePath(p: string): string | undefined {
  return p.includes('${') ? undefined : insideRepoPath(p);
}

/** The `plots:` entries of an mlo.yaml text (unknown keys ignored, as for metrics files: any mlo wrote it). */
export function declaredPlotFiles(pipelineText: string | undefined): { decls: PlotDecl[]; refused: string[] } {
  // Bounded parse (alias bombs refused), and a syntax error is an error: `{plots: []}` for a broken
  // mlo.yaml would be a silent wrong answer.
  let doc: unknown;
  try {
    doc = pipelineText === undefined ? undefined : parseYaml(pipelineText, PIPELINE_FILE);
  } catch (err) {
    if (isMloError(err)) throw err;
    throw new MloError('MLO_BAD_YAML', `${PIPELINE_FILE}: invalid YAML: ${(err as Error).message.split('\n')[0]}`, {
      hint: 'fix the syntax and run the command again',
    });
  }
  const decls = new Map<string, PlotDecl>();
  const refused: string[] = [];
  const take = (list: unknown, wdir: unknown) => {
    if (!Array.isArray(list)) return;
    for (const e of list) {
      const entries: [string, unknown][] = typeof e === 'string' ? [[e, null]] : e && typeof e === 'object' ? Object.entries(e as Obj) : [];
      for (const [raw, flags] of entries) {
        const file = safePath(typeof wdir === 'string' && wdir !== '.' ? posix.join(wdir, raw) : raw);
        if (!file) {
          refused.push(raw);
          continue;
        }
        const f = (flags && typeof flags === 'object' ? flags : {}) as Obj;
        const str = (k: string) => (typeof f[k] === 'string' ? (f[k] as string) : undefined);
        const template = (PLOT_TEMPLATES as readonly string[]).includes(str('template') ?? '') ? (str('template') as PlotTemplate) : 'linear';
        const y = Array.isArray(f.y) ? (f.y.find((v) => typeof v === 'string') as string | undefined) : str('y');
        decls.set(file, { file, template, x: str('x'), y, title: str('title'), xLabel: str('x_label'), yLabel: str('y_label') });
      }
    }
  };
  if (doc && typeof doc === 'object') {
    const d = doc as Obj;
    take(d.plots, undefined);
    for (const entry of Object.values(d.stages && typeof d.stages === 'object' ? (d.stages as Obj) : {})) {
      if (!entry || typeof entry !== 'object') continue;
      const body = ((entry as Obj).do && typeof (entry as Obj).do === 'object' ? (entry as Obj).do : entry) as Obj;
      take(body.plots, body.wdir);
    }
  }
  return { decls: [...decls.values()].sort((a, b) => a.file.localeCompare(b.file)), refused };
}

/** A CSV/TSV text (first line the header, double quotes for fields holding the separator). */
function parseDelimited(text: string, delim: string): Obj[] {
  const records: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === delim) {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.length > 1 || row[0] !== '') records.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) records.push([...row, field]);
  const [header, ...body] = records;
  if (!header) return [];
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, cell(r[i] ?? '')])));
}

function cell(s: string): string | number {
  const n = Number(s);
  return s.trim() !== '' && Number.isFinite(n) ? n : s;
}

/** Rows of a plot file: JSON (an array of objects, or an object holding one), CSV or TSV. */
export function plotRows(file: string, text: string): Obj[] {
  if (file.endsWith('.json')) {
    const doc = JSON.parse(text) as unknown;
    if (Array.isArray(doc)) return doc.filter((r): r is Obj => Boolean(r) && typeof r === 'object');
    if (doc && typeof doc === 'object') {
      const list = Object.values(doc as Obj).find(Array.isArray);
      if (list) return (list as unknown[]).filter((r): r is Obj => Boolean(r) && typeof r === 'object');
    }
    throw new Error('holds no array of records');
  }
  if (file.endsWith('.tsv')) return parseDelimited(text, '\t');
  if (file.endsWith('.csv')) return parseDelimited(text, ',');
  throw new Error('is not .json, .csv or .tsv');
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** The spec of one plot. Quantitative axes fit the data (zero: false); only ROC/PR keep their 0-1 square. */
export function plotSpec(decl: PlotDecl, rows: Obj[], colorField?: string): Record<string, unknown> {
  const fields = rows.length ? Object.keys(rows[0]) : [];
  const numeric = fields.filter((f) => typeof rows[0][f] === 'number');
  const color = colorField ? { color: { field: colorField, type: 'nominal', title: 'revision' } } : {};
  const title = decl.title ?? decl.file;
  if (decl.template === 'confusion' || decl.template === 'confusion_normalized') {
    const x = decl.x ?? fields[0] ?? 'actual';
    const y = decl.y ?? fields[1] ?? 'predicted';
    const normalized = decl.template === 'confusion_normalized';
    return {
      $schema: SCHEMA,
      title,
      data: { values: rows },
      transform: [
        { aggregate: [{ op: 'count', as: 'count' }], groupby: [x, y, ...(colorField ? [colorField] : [])] },
        ...(normalized
          ? [
              { joinaggregate: [{ op: 'sum', field: 'count', as: 'total' }], groupby: [x] },
              { calculate: 'datum.count / datum.total', as: 'share' },
            ]
          : []),
      ],
      ...(colorField
        ? { facet: { field: colorField, type: 'nominal', title: 'revision' }, spec: confusionLayer(x, y, normalized, decl) }
        : confusionLayer(x, y, normalized, decl)),
    };
  }
  const x = decl.x ?? (fields.includes('step') ? 'step' : (numeric[0] ?? fields[0]));
  const y = decl.y ?? numeric.filter((f) => f !== x).at(-1) ?? fields[1];
  const curve = decl.template === 'roc' || decl.template === 'pr';
  const scale = curve ? { domain: [0, 1] } : { zero: false };
  const mark =
    decl.template === 'scatter'
      ? { type: 'point', tooltip: true }
      : { type: 'line', tooltip: true, ...(decl.template === 'smooth' ? { interpolate: 'monotone' } : {}) };
  return {
    $schema: SCHEMA,
    title,
    data: { values: rows },
    mark,
    encoding: {
      x: { field: x, type: 'quantitative', title: decl.xLabel ?? x, scale },
      y: { field: y, type: 'quantitative', title: decl.yLabel ?? y, scale },
      ...(decl.template === 'scatter' ? {} : { order: { field: x, type: 'quantitative' } }),
      ...color,
    },
  };
}

function confusionLayer(x: string, y: string, normalized: boolean, decl: PlotDecl): Record<string, unknown> {
  const value = normalized ? 'share' : 'count';
  return {
    encoding: {
      x: { field: x, type: 'nominal', title: decl.xLabel ?? x },
      y: { field: y, type: 'nominal', title: decl.yLabel ?? y },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: value, type: 'quantitative', title: value } } },
      { mark: 'text', encoding: { text: { field: value, type: 'quantitative', format: normalized ? '.2f' : 'd' } } },
    ],
  };
}

/** A file a revision records but whose content could not be read, with the revision as the user named it. */
export type RevMissing = MissingFile & { rev: string };

interface PlotData {
  decl: PlotDecl;
  rows?: Obj[];
  problem?: string;
}

/** The declared plot files at one revision, each with its rows or the reason it has none. */
async function plotDataAt(repo: Repo, rev: string): Promise<{ label: string; sha: string | null; data: PlotData[]; missing: RevMissing[] }> {
  const isWs = rev === WORKSPACE;
  const sha = isWs ? null : resolveRev(repo.root, rev);
  // The same reader as metrics and params: a cached plots file is read through mlo.lock's hash.
  const files = revFiles(repo, { label: rev, sha });
  const { decls, refused } = declaredPlotFiles((await files.plain([PIPELINE_FILE])).get(PIPELINE_FILE));
  const { texts, missing } = await files.read(decls.map((d) => d.file));
  const why = new Map(missing.map((m) => [m.file, m.hint ? `${m.message} (${m.hint})` : m.message]));
  const data: PlotData[] = refused.map((file) => ({ decl: { file, template: 'linear' }, problem: `${file}: the path leaves the repository; not read` }));
  for (const decl of decls) {
    const text = texts.get(decl.file);
    if (text === undefined) {
      data.push({
        decl,
        problem:
          why.get(decl.file) ??
          (isWs
            ? `${decl.file}: no such file in the workspace (run the stage that writes it)`
            : `${decl.file}: neither committed nor recorded in mlo.lock at ${rev}`),
      });
      continue;
    }
    try {
      const rows = plotRows(decl.file, text);
      data.push(rows.length ? { decl, rows } : { decl, problem: `${decl.file}: holds no rows` });
    } catch (err) {
      data.push({ decl, problem: `${decl.file} ${(err as Error).message}` });
    }
  }
  return { label: sha ? `${rev} (${sha.slice(0, 7)})` : rev, sha, data, missing: missing.map((m) => ({ ...m, rev })) };
}

/**
 * The declared plots at `revs` (default: the workspace). With one revision each plot is its data; with
 * several, a file's rows from every revision are drawn on one chart, coloured by revision. A file a
 * revision lacks or cannot parse is named in `problems`, and the others are still drawn.
 */
export async function declaredPlots(repo: Repo, revs: string[] = []): Promise<{ revs: string[]; plots: DeclaredPlot[]; missing: RevMissing[] }> {
  const list = revs.length ? revs : [WORKSPACE];
  // One revision at a time: each runs git cat-file, and the UI serves several requests at once.
  const at: Awaited<ReturnType<typeof plotDataAt>>[] = [];
  for (const rev of list) at.push(await plotDataAt(repo, rev));
  const files = [...new Set(at.flatMap((a) => a.data.map((d) => d.decl.file)))].sort();
  const plots: DeclaredPlot[] = [];
  for (const file of files) {
    const found = at.map((a) => ({ label: a.label, d: a.data.find((d) => d.decl.file === file) }));
    const decl = found.find((f) => f.d)!.d!.decl;
    const problems = found.flatMap((f) => (f.d ? (f.d.problem ? [f.d.problem] : []) : [`${file}: not declared at ${f.label}`]));
    const withRows = found.filter((f) => f.d?.rows);
    const rows = list.length === 1 ? (withRows[0]?.d?.rows ?? []) : withRows.flatMap((f) => f.d!.rows!.map((r) => ({ ...r, rev: f.label })));
    plots.push({
      ...decl,
      revs: withRows.map((f) => f.label),
      rows: rows.length,
      ...(rows.length ? { spec: plotSpec(decl, rows.slice(0, MAX_ROWS), list.length > 1 ? 'rev' : undefined) } : {}),
      ...(problems.length ? { problems } : {}),
    });
  }
  // Files a revision records by hash but that could not be read: `plots diff` fails on them.
  return { revs: at.map((a) => a.label), plots, missing: at.flatMap((a) => a.missing) };
}
