/**
 * The monitoring page's documents: serving health from a serve log (`mlo monitor status --json`, one
 * entry per model with its current version) and a drift report between two data files or serve logs
 * (`mlo monitor drift --json`). The files are named by the request, so each must be a path inside
 * the repository: relative, without `..`, not in `.git/` or `.mlo/` (the local config), and not a symlink that resolves outside it.
 */
import { insideRepoPath, realInsideRepo } from '../data/pointer/paths.js';
import { HttpError } from '../serve/http.js';
import type { Repo } from '../repo/repo.js';
import { detectDrift, type DriftReport } from '../monitor/drift.js';
import { serveStatus, type StatusReport } from '../monitor/status.js';

/** `rel`, checked to be a path inside the repository (else a 400 naming the parameter), normalized. */
export function repoFile(repo: Repo, rel: string, param: string): string {
  const n = insideRepoPath(rel);
  if (n === undefined) {
    throw new HttpError(400, `query parameter '${param}' must be a path inside the repository (not in .git or .mlo), got '${rel.slice(0, 80)}'`);
  }
  // A missing file is left to the monitor functions, which report it by name (MLO_NOT_FOUND).
  if (realInsideRepo(repo.root, n) === 'outside') {
    throw new HttpError(400, `query parameter '${param}': ${n} links to a file outside the repository`);
  }
  return n;
}

export function monitorStatus(repo: Repo, options: { log: string; model?: string; now?: string }): StatusReport {
  return serveStatus({ cwd: repo.root, log: repoFile(repo, options.log, 'log'), model: options.model, now: options.now });
}

export function monitorDrift(repo: Repo, options: { reference: string; current: string; model?: string }): Promise<DriftReport> {
  return detectDrift({
    cwd: repo.root,
    reference: repoFile(repo, options.reference, 'reference'),
    current: repoFile(repo, options.current, 'current'),
    model: options.model,
  });
}
