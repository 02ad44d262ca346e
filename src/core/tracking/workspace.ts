/**
 * What a run records about the workspace it ran in: git commit, branch and dirty flag, who and where,
 * the params files' values (flattened, `file:key` outside params.yaml) and the snapshot that
 * `mlo exp apply` writes back (params files and mlo.lock as they were when the run ended).
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { currentBranch, gitUser, headCommit, isDirty, isGitRepo } from '../git.js';
import { declaredFiles, LOCK_FILE, PIPELINE_FILE } from './declared.js';
import { paramKey } from './setparams.js';
import { flatten, parseStructured, type Scalar } from './values.js';

export interface GitInfo {
  gitCommit: string | null;
  branch: string | null;
  dirty: boolean | null;
  user: string | null;
  host: string;
}

export function gitInfo(root: string): GitInfo {
  const inGit = isGitRepo(root);
  let user: string | null = inGit ? gitUser(root) ?? null : null;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = null;
    }
  }
  return {
    gitCommit: inGit ? headCommit(root) ?? null : null,
    branch: inGit ? currentBranch(root) ?? null : null,
    dirty: inGit ? isDirty(root) : null,
    user,
    host: hostname(),
  };
}

export interface Snapshot {
  /** Params files' text, by path relative to the root. */
  params: Record<string, string>;
  /** mlo.lock's text, when there is one. */
  lock?: string;
}

function readText(root: string, rel: string): string | undefined {
  const abs = join(root, rel);
  return existsSync(abs) ? readFileSync(abs, 'utf8') : undefined;
}

export function paramsFilesOf(root: string): string[] {
  return declaredFiles(readText(root, PIPELINE_FILE)).params;
}

export function takeSnapshot(root: string): Snapshot {
  const params: Record<string, string> = {};
  for (const f of paramsFilesOf(root)) {
    const t = readText(root, f);
    if (t !== undefined) params[f] = t;
  }
  const lock = readText(root, LOCK_FILE);
  return lock === undefined ? { params } : { params, lock };
}

/** The values of every params file, flattened, as strings (MLflow's convention: params are text). */
export function paramsOfTexts(files: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [file, text] of Object.entries(files)) {
    for (const [k, v] of Object.entries(flatten(parseStructured(text, file, 'MLO_BAD_PARAMS')))) out[paramKey(file, k)] = paramText(v);
  }
  return out;
}

export function paramText(v: Scalar): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
