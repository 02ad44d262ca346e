/**
 * `mlo ci report`: what a change did, gathered for a pull-request comment. Metrics and params of the
 * workspace against a base revision (the code behind `mlo metrics diff` / `mlo params diff`), the metric
 * gates (a metric worse than at the base by more than its threshold fails), data validation and drift
 * results, and the pipeline stages that changed (a stale one fails). One failing section is reported
 * in its place instead of hiding the others; only an unknown base revision stops the report, because
 * then nothing can be compared.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isMloError, MloError, usageError } from '../../base/errors.js';
import { headCommit, resolveRev } from '../../base/git.js';
import { detectDrift } from '../monitor/drift.js';
import { validateData } from '../monitor/schema.js';
import { readGates } from '../pipeline/gates.js';
import { pipelineStatus } from '../pipeline/plan.js';
import type { Repo } from '../repo/repo.js';
import { diffAt, unreadable, WORKSPACE, type FileDiff, type Kind, type RevDiff } from '../tracking/revisions.js';
import type { Gate } from '../pipeline/schema.js';
import { evaluateGates } from './gates.js';
import { renderCiMarkdown } from './markdown.js';

import type {
  FailOn,
  SectionName,
  SectionError,
  ValidatePair,
  DriftPair,
  CiReportOptions,
  DiffSection,
  SideMissing,
  GatesSection,
  GateResult,
  ValidationEntry,
  DriftEntry,
  PipelineSection,
  CiReport,
} from './types.js';

export async function ciReport(repo: Repo, options: CiReportOptions): Promise<CiReport> {
  const base = options.base ?? 'main';
  const baseSha = resolveBase(repo, base);
  // One after the other: each may fetch a cached file from the remote under the repository lock.
  const metricRows = await diffSection(repo, 'metrics', base);
  const params = await diffSection(repo, 'params', base);
  const metrics = metricRows.section;
  const gates = gatesSection(repo, options, metricRows);
  const validation: ValidationEntry[] = [];
  for (const pair of options.validate ?? []) validation.push(validationEntry(pair, options.cwd));
  const drift: DriftEntry[] = [];
  for (const pair of options.drift ?? []) drift.push(await driftEntry(pair, options.cwd));
  const pipeline = pipelineSection(repo);

  const failed: SectionName[] = [];
  if ((metrics && !metrics.ok) || (gates && !gates.ok)) failed.push('metrics');
  if (params.section && !params.section.ok) failed.push('params');
  if (validation.some((v) => !v.ok)) failed.push('validation');
  if (drift.some((d) => !d.ok)) failed.push('drift');
  if (pipeline && !pipeline.ok) failed.push('pipeline');

  const report: Omit<CiReport, 'markdown'> = {
    base: { rev: base, sha: baseSha },
    head: { rev: WORKSPACE, sha: headCommit(repo.root) ?? null },
    metrics,
    gates,
    params: params.section,
    validation,
    drift,
    pipeline,
    plotsUrl: options.plotsUrl ?? null,
    failed,
  };
  return { ...report, markdown: renderCiMarkdown(report) };
}

/** Whether `--fail-on` (one or more sections, or 'any') turns this report into a failed check. */
export function failsOn(report: Pick<CiReport, 'failed'>, failOn: readonly FailOn[] | undefined): boolean {
  return (failOn ?? []).some((f) => (f === 'any' ? report.failed.length > 0 : report.failed.includes(f)));
}

const GATE_WORDS: Record<GateResult['status'], string> = {
  passed: 'passed',
  new: 'is new',
  regressed: 'regressed',
  removed: 'is not in the workspace',
  'not-a-number': 'is not a number',
  'not-found': 'is in no metrics file at either revision',
};

/** One line per failed section of those `--fail-on` names, for the CI log (the report holds the details). */
export function failureLines(report: Omit<CiReport, 'markdown'>, failOn: readonly FailOn[]): string[] {
  const named = failOn.includes('any') ? report.failed : report.failed.filter((f) => (failOn as readonly string[]).includes(f));
  return named.map((section) => {
    if (section === 'metrics') {
      const why = report.metrics?.error ?? report.gates?.error ?? null;
      if (why) return `metrics: ${why.message}`;
      const bad = (report.gates?.results ?? []).filter((r) => !r.ok);
      return `metrics: ${bad.map((r) => `${r.file === null ? r.metric : `${r.file}:${r.key}`} ${GATE_WORDS[r.status]}${r.status === 'regressed' ? ` (${r.base} -> ${r.workspace}; ${r.better} is better, threshold ${r.threshold})` : ''}`).join('; ')}`;
    }
    if (section === 'pipeline') {
      const p = report.pipeline;
      return p?.error ? `pipeline: ${p.error.message}` : `pipeline: stale stages ${p?.stale.join(', ')} (mlo run updates them and mlo.lock)`;
    }
    return `${section}: failed (see the report)`;
  });
}

/**
 * Splits a `--validate DATA=SCHEMA` or `--drift REFERENCE=CURRENT` value. A path may itself hold '='
 * (Hive-style partitions such as `dt=2026-11-01/prod.csv`), so the split chosen is the first whose two
 * sides both exist, else the last '='.
 */
export function parsePair(flag: string, value: string, cwd: string): [string, string] {
  const cuts: number[] = [];
  for (let i = value.indexOf('='); i >= 0; i = value.indexOf('=', i + 1)) cuts.push(i);
  const sides = (i: number): [string, string] => [value.slice(0, i), value.slice(i + 1)];
  const exists = (p: string) => existsSync(isAbsolute(p) ? p : resolve(cwd, p));
  const cut = cuts.find((i) => sides(i).every((s) => s !== '' && exists(s))) ?? cuts[cuts.length - 1];
  const pair = cut === undefined ? undefined : sides(cut);
  if (!pair || pair[0] === '' || pair[1] === '') {
    const shape = flag === '--validate' ? 'DATA=SCHEMA' : 'REFERENCE=CURRENT';
    throw usageError(
      `${flag} expects ${shape}, got '${value}'`,
      `for example ${flag} ${flag === '--validate' ? 'data/prod.csv=schema.yaml' : 'data/train.csv=data/prod.csv'}`,
    );
  }
  return pair;
}

function resolveBase(repo: Repo, base: string): string {
  try {
    return resolveRev(repo.root, base);
  } catch (err) {
    if (!isMloError(err, 'MLO_UNKNOWN_REV')) throw err;
    // CI checkouts are shallow and single-branch by default, so the base is usually just not fetched.
    const branch = base.replace(/^origin\//, '');
    const tracking = !base.startsWith('origin/') && knownRev(repo, `origin/${base}`);
    throw new MloError('MLO_UNKNOWN_REV', `unknown base revision '${base}': no such branch, tag or commit in this clone`, {
      hint: tracking
        ? `use the remote-tracking branch: mlo ci report --base origin/${base}`
        : `fetch it first (git fetch origin ${branch}); in CI, check out the full history (actions/checkout fetch-depth: 0, GitLab GIT_DEPTH: 0)`,
    });
  }
}

function knownRev(repo: Repo, rev: string): boolean {
  try {
    resolveRev(repo.root, rev);
    return true;
  } catch (err) {
    if (isMloError(err, 'MLO_UNKNOWN_REV')) return false;
    throw err;
  }
}

function sectionError(err: unknown): SectionError {
  // Only mlo's own errors are findings to report; anything else is a bug and must surface.
  if (!isMloError(err)) throw err;
  return err.hint === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, hint: err.hint };
}

/** diffValues' rule for "unchanged": the same value, or numbers that compare equal. */
function unchanged(d: FileDiff): boolean {
  return d.old === d.new || (d.change === 0 && d.old !== null);
}

/** The section, and every row (unchanged ones too) for the gates; `section` is null when no file exists. */
interface DiffRows {
  section: DiffSection | null;
  rows: FileDiff[];
}

async function diffSection(repo: Repo, kind: Kind, base: string): Promise<DiffRows> {
  try {
    // --all, so that "no files on either side" (the section does not apply) differs from "no change".
    const all = await diffAt(repo, kind, { a: base, all: true });
    const missing = sideMissing(all, kind);
    if (all.diff.length === 0 && missing.every((m) => m.reason === 'none')) return { section: null, rows: [] };
    const diff = all.diff.filter((d) => !unchanged(d));
    const section: DiffSection = { ok: true, diff, unchanged: all.diff.length - diff.length };
    if (missing.length) section.missing = missing;
    const unread = [...unreadable(all.a), ...unreadable(all.b)];
    if (unread.length) {
      // A recorded file that could not be read: the comparison is incomplete, a failure to report.
      const more = unread.length > 1 ? ` (and ${unread.length - 1} more)` : '';
      section.ok = false;
      section.error = { code: 'MLO_MISSING_FROM_CACHE', message: `${unread[0].message}${more}`, ...(unread[0].hint ? { hint: unread[0].hint } : {}) };
    }
    return { section, rows: all.diff };
  } catch (err) {
    return { section: { ok: false, diff: [], unchanged: 0, error: sectionError(err) }, rows: [] };
  }
}

/** What each side lacked: files it records but could not read, or no files of the kind at all. */
function sideMissing(d: RevDiff, kind: Kind): SideMissing[] {
  const out: SideMissing[] = [];
  for (const [side, s] of [
    ['base', d.a],
    ['head', d.b],
  ] as const) {
    for (const m of s.missing) out.push({ side, rev: s.rev, ...m });
    if (s.files.length === 0 && s.missing.length === 0) out.push({ side, rev: s.rev, file: null, reason: 'none', message: `${s.rev} has no ${kind} files` });
  }
  return out;
}

/** The gates of mlo.yaml and --gate (which wins for its metric), checked; null when none is declared. */
function gatesSection(repo: Repo, options: CiReportOptions, metrics: DiffRows): GatesSection | null {
  let gates: Record<string, Gate>;
  try {
    gates = { ...readGates(repo), ...options.gates };
  } catch (err) {
    // An unreadable mlo.yaml fails the pipeline section, which names it; `--fail-on metrics` reads the
    // gates before the report and stops on the same error, so no gate passes unread.
    sectionError(err);
    if (!options.gates || Object.keys(options.gates).length === 0) return null;
    gates = { ...options.gates };
  }
  if (Object.keys(gates).length === 0) return null;
  // Unreadable metrics are reported by the metrics section; the gates then cannot be judged.
  if (metrics.section?.error) return { ok: false, results: [], error: metrics.section.error };
  const results = evaluateGates(gates, metrics.rows);
  return { ok: results.every((r) => r.ok), results };
}

function validationEntry(pair: ValidatePair, cwd: string): ValidationEntry {
  try {
    const report = validateData({ cwd, data: pair.data, schema: pair.schema });
    return { ...pair, ok: report.ok, report };
  } catch (err) {
    return { ...pair, ok: false, error: sectionError(err) };
  }
}

async function driftEntry(pair: DriftPair, cwd: string): Promise<DriftEntry> {
  try {
    const report = await detectDrift({ cwd, reference: pair.reference, current: pair.current });
    return { ...pair, ok: !report.drift, report };
  } catch (err) {
    return { ...pair, ok: false, error: sectionError(err) };
  }
}

function pipelineSection(repo: Repo): PipelineSection | null {
  try {
    const stages = pipelineStatus(repo);
    if (stages.length === 0) return null;
    const stale = stages.filter((s) => s.stale).map((s) => s.name);
    return { ok: stale.length === 0, stages, changed: stages.filter((s) => s.changed).map((s) => s.name), stale };
  } catch (err) {
    return { ok: false, stages: [], changed: [], stale: [], error: sectionError(err) };
  }
}
