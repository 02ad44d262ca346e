/**
 * Metrics and params at git revisions, read from git's objects (no checkout): `mlo metrics show|diff`
 * and `mlo params diff`. The metrics files of a revision are those its mlo.yaml declares, else
 * metrics.json / metrics.yaml at the root; params files are params.yaml plus those mlo.yaml names. Two
 * `git cat-file --batch` calls per revision, whatever the history length.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMloError } from '../../base/errors.js';
import { headCommit, localBranches, prefixInGit, readFilesAtRev, resolveRev } from '../../base/git.js';
import type { Repo } from '../repo/repo.js';
import { PIPELINE_FILE } from '../repo/names.js';
import { declaredFiles, DEFAULT_METRICS_FILES } from './declared.js';
import { diffValues, type ValueDiff } from './exp.js';
import { flatten, parseStructured, type Scalar } from './values.js';

export const WORKSPACE = 'workspace';

export type Kind = 'metrics' | 'params';

export interface FilesAt {
  /** The revision as given ('workspace' for the working tree). */
  rev: string;
  sha: string | null;
  /** file -> flattened key -> value. */
  files: Record<string, Record<string, Scalar>>;
  /** Set by showAt when this revision could not be read (its files are then empty). */
  error?: { code: string; message: string; hint?: string };
}

interface Reader {
  read(paths: string[]): Promise<Map<string, string>>;
}

function workspaceReader(repo: Repo): Reader {
  return {
    async read(paths) {
      const out = new Map<string, string>();
      for (const p of paths) {
        const abs = join(repo.root, p);
        if (existsSync(abs)) out.set(p, readFileSync(abs, 'utf8'));
      }
      return out;
    },
  };
}

function revReader(repo: Repo, sha: string): Reader {
  const prefix = prefixInGit(repo.root);
  return {
    async read(paths) {
      const files = await readFilesAtRev(
        repo.root,
        sha,
        paths.map((p) => prefix + p),
      );
      return new Map(files.map((f) => [f.path.slice(prefix.length), f.content.toString('utf8')]));
    },
  };
}

/** The metrics or params files at `rev` (undefined or 'workspace': the working tree). */
export async function filesAt(repo: Repo, kind: Kind, rev?: string): Promise<FilesAt> {
  const isWs = rev === undefined || rev === WORKSPACE;
  const sha = isWs ? null : resolveRev(repo.root, rev);
  const reader = isWs ? workspaceReader(repo) : revReader(repo, sha as string);
  const label = isWs ? WORKSPACE : rev;
  const first = await reader.read(kind === 'metrics' ? [PIPELINE_FILE, ...DEFAULT_METRICS_FILES] : [PIPELINE_FILE]);
  const declared = declaredFiles(first.get(PIPELINE_FILE));
  let wanted: string[];
  let texts: Map<string, string>;
  if (kind === 'metrics') {
    wanted = declared.metrics.length ? declared.metrics : DEFAULT_METRICS_FILES;
    const missing = wanted.filter((p) => !first.has(p));
    texts = new Map([...first, ...(missing.length ? await reader.read(missing) : new Map<string, string>())]);
  } else {
    wanted = declared.params;
    texts = await reader.read(wanted);
  }
  const files: FilesAt['files'] = {};
  for (const file of wanted) {
    const text = texts.get(file);
    if (text === undefined) continue;
    const name = isWs ? file : `${label}:${file}`;
    files[file] = flatten(parseStructured(text, name, kind === 'metrics' ? 'MLO_BAD_METRICS' : 'MLO_BAD_PARAMS'));
  }
  return { rev: label, sha, files };
}

export interface FileDiff extends ValueDiff {
  file: string;
}

export interface RevDiff {
  a: { rev: string; sha: string | null };
  b: { rev: string; sha: string | null };
  diff: FileDiff[];
}

/** `metrics diff` / `params diff`: default HEAD against the workspace. */
export async function diffAt(repo: Repo, kind: Kind, options: { a?: string; b?: string; all?: boolean } = {}): Promise<RevDiff> {
  // Before the first commit, the default HEAD side is empty rather than an unknown revision.
  const emptyHead = options.a === undefined && headCommit(repo.root) === undefined;
  const [a, b] = await Promise.all([
    emptyHead ? Promise.resolve<FilesAt>({ rev: 'HEAD', sha: null, files: {} }) : filesAt(repo, kind, options.a ?? 'HEAD'),
    filesAt(repo, kind, options.b ?? WORKSPACE),
  ]);
  const diff: FileDiff[] = [];
  const fileNames = [...new Set([...Object.keys(a.files), ...Object.keys(b.files)])].sort();
  for (const file of fileNames) {
    const conv = (r: Record<string, Scalar> | undefined) =>
      Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, typeof v === 'number' || typeof v === 'string' ? v : JSON.stringify(v)]));
    for (const d of diffValues(conv(a.files[file]), conv(b.files[file]), options.all ?? false)) diff.push({ file, ...d });
  }
  return { a: { rev: a.rev, sha: a.sha }, b: { rev: b.rev, sha: b.sha }, diff };
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
      return { rev, sha: null, files: {}, error: { code: err.code, message: err.message, hint: err.hint } };
    }
  };
  const out: FilesAt[] = [await at(WORKSPACE)];
  for (const rev of revs) out.push(await at(rev));
  return out;
}
