/**
 * What a run records about the workspace it ran in: git commit, branch and dirty flag, who and where,
 * the params files' values (flattened, `file:key` outside params.yaml) and the snapshot that
 * `mlo exp apply` writes back (params files and mlo.lock as they were when the run ended).
 */
import { existsSync, readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { currentBranch, gitUser, headCommit, isDirty, isGitRepo } from '../../base/git.js';
import { LOCK_FILE, PIPELINE_FILE } from '../repo/names.js';
import { declaredFiles } from './declared.js';
import { paramKey } from './setparams.js';
import { flatten, parseStructured, type Scalar } from './values.js';
import type { Snapshot } from './store.js';

export type { Snapshot } from './store.js';

export interface GitInfo {
  gitCommit: string | null;
  branch: string | null;
  dirty: boolean | null;
  user: string | null;
  host: string;
}

export function gitInfo(root: string): GitInfo {
  const inGit = isGitRepo(root);
  let user: string | null = inGit ? (gitUser(root) ?? null) : null;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = null;
    }
  }
  return {
    gitCommit: inGit ? (headCommit(root) ?? null) : null,
    branch: inGit ? (currentBranch(root) ?? null) : null,
    dirty: inGit ? isDirty(root) : null,
    user,
    host: hostname(),
  };
}

function readText(root: string, rel: string): string | undefined {
  const abs = join(root, rel);
  return existsSync(abs) ? readFileSync(abs, 'utf8') : undefined;
}

export function paramsFilesOf(root: string): string[] {
  return declaredFiles(readText(root, PIPELINE_FILE)).params;
}

/** Files above 1 MiB are not worth carrying in every run record. */
const SNAPSHOT_LIMIT = 1 << 20;

export function takeSnapshot(root: string): Snapshot {
  const declared = declaredFiles(readText(root, PIPELINE_FILE));
  const read = (files: string[]) => {
    const out: Record<string, string> = {};
    for (const f of files) {
      const t = readText(root, f);
      if (t !== undefined && t.length <= SNAPSHOT_LIMIT) out[f] = t;
    }
    return out;
  };
  const snap: Snapshot = { params: read(declared.params) };
  const lock = readText(root, LOCK_FILE);
  if (lock !== undefined) snap.lock = lock;
  const metrics = read(declared.metrics);
  if (Object.keys(metrics).length) snap.metrics = metrics;
  return snap;
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
