/**
 * Metrics and params at git revisions (no checkout): `mlo metrics show|diff`, `mlo params diff`, and
 * through them `plots diff` and `ci report`. The metrics files of a revision are those its mlo.yaml
 * declares, else metrics.json / metrics.yaml at the root; params files are params.yaml plus those
 * mlo.yaml names. Each is read from git, else (a cached stage out) through the hash the revision's
 * mlo.lock records (rev-files.ts). Two `git cat-file --batch` calls per revision when all are in git.
 */
import { isMloError } from '../../base/errors.js';
import { headCommit, localBranches, resolveRev } from '../../base/git.js';
import type { Repo } from '../repo/repo.js';
import { PIPELINE_FILE } from '../repo/names.js';
import { declaredFiles, DEFAULT_METRICS_FILES } from './declared.js';
import { diffValues, type ValueDiff } from './exp.js';
import { revFiles, where, type MissingFile, type Origin } from './rev-files.js';
import { flatten, parseStructured, type Scalar } from './values.js';

export type { MissingFile } from './rev-files.js';

export const WORKSPACE = 'workspace';

export type Kind = 'metrics' | 'params';

export interface FilesAt {
  /** The revision as given ('workspace' for the working tree). */
  rev: string;
  sha: string | null;
  /** file -> flattened key -> value. */
  files: Record<string, Record<string, Scalar>>;
  /** Where each file was read from: git (or the working tree), or the cache or remote by its recorded hash. */
  origins: Record<string, Origin>;
  /** Files the revision declares or records whose content could not be read, with why. */
  missing: MissingFile[];
  /** Set by showAt when this revision could not be read (its files are then empty). */
  error?: { code: string; message: string; hint?: string };
}

/** The metrics or params files at `rev` (undefined or 'workspace': the working tree). */
export async function filesAt(repo: Repo, kind: Kind, rev?: string): Promise<FilesAt> {
  const isWs = rev === undefined || rev === WORKSPACE;
  const sha = isWs ? null : resolveRev(repo.root, rev);
  const label = isWs ? WORKSPACE : rev;
  const at = { label, sha };
  const reader = revFiles(repo, at);
  const first = await reader.plain(kind === 'metrics' ? [PIPELINE_FILE, ...DEFAULT_METRICS_FILES] : [PIPELINE_FILE]);
  const declared = declaredFiles(first.get(PIPELINE_FILE));
  const explicit = kind === 'metrics' ? declared.metrics : declared.params;
  const wanted = kind === 'metrics' && explicit.length === 0 ? DEFAULT_METRICS_FILES : explicit;
  const read = await reader.read(wanted);
  const files: FilesAt['files'] = {};
  const origins: FilesAt['origins'] = {};
  for (const file of wanted) {
    const text = read.texts.get(file);
    if (text === undefined) continue;
    const name = isWs ? file : `${label}:${file}`;
    files[file] = flatten(parseStructured(text, name, kind === 'metrics' ? 'MLO_BAD_METRICS' : 'MLO_BAD_PARAMS'));
    origins[file] = read.origins.get(file)!;
  }
  const missing = [...read.missing];
  // A metrics file mlo.yaml declares that the revision neither holds nor records: its stage never ran
  // there, or its results were not committed. (params.yaml is always looked for, so not reported.)
  if (kind === 'metrics') {
    const unread = new Set(missing.map((m) => m.file));
    for (const file of explicit) {
      if (file in files || unread.has(file)) continue;
      missing.push({
        file,
        reason: 'not-recorded',
        message: `${file} ${where(at)}: declared in ${PIPELINE_FILE}, but neither committed to git nor recorded in mlo.lock`,
        hint: isWs ? 'run the stage that writes it (`mlo run`)' : `run the stage that writes it and commit mlo.lock on ${label}`,
      });
    }
  }
  return { rev: label, sha, files, origins, missing };
}

/** True when a side cannot be fully compared: a file it records could not be read. */
export function unreadable(side: { missing: MissingFile[] }): MissingFile[] {
  return side.missing.filter((m) => m.reason !== 'not-recorded');
}

export interface FileDiff extends ValueDiff {
  file: string;
}

/** One side of a diff: which files it had, where they came from, and what it lacked. */
export interface RevSide {
  rev: string;
  sha: string | null;
  /** The files read at this revision. */
  files: string[];
  origins: Record<string, Origin>;
  missing: MissingFile[];
}

export interface RevDiff {
  a: RevSide;
  b: RevSide;
  diff: FileDiff[];
  /**
   * Both sides have files of this kind and every file they record could be read. When false, an empty
   * `diff` does not mean "nothing changed", and the commands exit 1.
   */
  complete: boolean;
}

function sideOf(f: FilesAt): RevSide {
  return { rev: f.rev, sha: f.sha, files: Object.keys(f.files), origins: f.origins, missing: f.missing };
}

/** Whether a side can be compared: it has files, and none it records was unreadable. */
export function sideComplete(side: RevSide): boolean {
  return side.files.length > 0 && unreadable(side).length === 0;
}

/** `metrics diff` / `params diff`: default HEAD against the workspace. */
export async function diffAt(repo: Repo, kind: Kind, options: { a?: string; b?: string; all?: boolean } = {}): Promise<RevDiff> {
  // Before the first commit, the default HEAD side is empty rather than an unknown revision.
  const emptyHead = options.a === undefined && headCommit(repo.root) === undefined;
  // One side after the other: each may fetch from the remote under the repository lock. The new side
  // first, so that a file broken on both sides is named as the user's working copy (the usual culprit).
  const b = await filesAt(repo, kind, options.b ?? WORKSPACE);
  const a = emptyHead ? { rev: 'HEAD', sha: null, files: {}, origins: {}, missing: [] } : await filesAt(repo, kind, options.a ?? 'HEAD');
  const diff: FileDiff[] = [];
  const fileNames = [...new Set([...Object.keys(a.files), ...Object.keys(b.files)])].sort();
  for (const file of fileNames) {
    const conv = (r: Record<string, Scalar> | undefined) =>
      Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, typeof v === 'number' || typeof v === 'string' ? v : JSON.stringify(v)]));
    for (const d of diffValues(conv(a.files[file]), conv(b.files[file]), options.all ?? false)) diff.push({ file, ...d });
  }
  const [sa, sb] = [sideOf(a), sideOf(b)];
  return { a: sa, b: sb, diff, complete: sideComplete(sa) && sideComplete(sb) };
}

/**
 * Why a side cannot be compared, one line each; empty when it can. `what` names the kind ('metrics').
 */
export function sideProblems(side: RevSide, what: string): string[] {
  const lines = unreadable(side).map((m) => `${m.message}${m.hint ? `; ${m.hint}` : ''}`);
  if (side.files.length === 0 && lines.length === 0) {
    const notRecorded = side.missing.map((m) => `${m.message}; ${m.hint}`);
    lines.push(...(notRecorded.length ? notRecorded : [`${side.rev} has no ${what} files`]));
  }
  return lines;
}

/**
 * `metrics show`: the workspace, or every local branch (and the workspace) with --all-branches. A
 * revision that cannot be read carries `error` instead of throwing.
 */
export async function showAt(repo: Repo, kind: Kind, options: { allBranches?: boolean; revs?: string[] } = {}): Promise<FilesAt[]> {
  const revs: string[] = [...(options.revs ?? [])];
  if (options.allBranches) revs.push(...(await localBranches(repo.root)).sort());
  // One broken revision (an unparsable metrics file there) is marked, not allowed to hide the others.
  const at = async (rev: string): Promise<FilesAt> => {
    try {
      return await filesAt(repo, kind, rev);
    } catch (err) {
      if (!isMloError(err)) throw err;
      return { rev, sha: null, files: {}, origins: {}, missing: [], error: { code: err.code, message: err.message, hint: err.hint } };
    }
  };
  const out: FilesAt[] = [await at(WORKSPACE)];
  for (const rev of revs) out.push(await at(rev));
  return out;
}
