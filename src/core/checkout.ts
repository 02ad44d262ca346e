/**
 * `mlo checkout`: makes the workspace match the pointers (after `git checkout` or `git pull`). Files
 * a directory's manifest no longer lists are removed. Content that exists only in the workspace (not
 * in the cache) is never overwritten or deleted without `force`; a corrupt object is never linked.
 */
import { lstatSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { clearCacheTmp, hasObject } from './cache/objects.js';
import { checkObject, corruptObjectError } from './cache/verify.js';
import { MloError } from './errors.js';
import { withRepoLock } from './lock.js';
import type { Repo } from './repo.js';
import { WRITTEN_BY_MLO, statKey } from './state.js';
import { resolveTargets, type Tracked } from './tracked.js';
import { openScan } from './workspace/scan.js';
import { compareItem, type Comparison } from './workspace/compare.js';
import { createLinker } from './workspace/link.js';
import type { ScanContext } from './workspace/scan.js';

export interface CheckoutOptions {
  cwd: string;
  targets?: string[];
  /** Overwrite or delete workspace content even when the cache has no copy of it. */
  force?: boolean;
  /** Only report what would change. */
  dry?: boolean;
  onFile?: (bytes: number) => void;
}

export interface CheckoutResult {
  added: string[];
  modified: string[];
  deleted: string[];
  unchanged: number;
  /** Tracked paths whose content is not in the cache (fetch them with mlo pull). */
  missing: { path: string; hash: string }[];
}

interface Write { path: string; hash: string; size: number; exec: boolean; kind: 'added' | 'modified' }
interface Plan { writes: Write[]; deletes: string[]; unsafe: string[]; replaceWholePath: string[] }

export async function checkoutTargets(repo: Repo, options: CheckoutOptions): Promise<CheckoutResult> {
  const items = resolveTargets(repo, options.cwd, options.targets);
  return withRepoLock(repo, { command: 'checkout' }, () => {
    clearCacheTmp(repo.cacheDir);
    const ctx = openScan(repo);
    try {
      return runCheckout(ctx, items, options);
    } finally {
      ctx.state.close();
    }
  });
}

export function runCheckout(ctx: ScanContext, items: Tracked[], options: Pick<CheckoutOptions, 'force' | 'dry' | 'onFile'>): CheckoutResult {
  const { repo } = ctx;
  const result: CheckoutResult = { added: [], modified: [], deleted: [], unchanged: 0, missing: [] };
  const plan: Plan = { writes: [], deletes: [], unsafe: [], replaceWholePath: [] };
  for (const item of items) {
    if (!hasObject(repo.cacheDir, item.hash)) {
      result.missing.push({ path: item.path, hash: item.hash });
      continue;
    }
    planItem(ctx, compareItem(ctx, item), plan, result);
  }
  if (plan.unsafe.length && !options.force) {
    const list = plan.unsafe.slice(0, 3).join(', ') + (plan.unsafe.length > 3 ? ` and ${plan.unsafe.length - 3} more` : '');
    throw new MloError('MLO_WOULD_LOSE_DATA', `checkout would overwrite or delete ${list}, whose content is not in the cache`, {
      hint: 'keep the changes with `mlo commit` (or `mlo add`), or discard them with `mlo checkout --force`',
      meta: { paths: plan.unsafe },
    });
  }
  // Verify every object first, so a corrupt one stops the checkout before the workspace changes.
  const checked = new Set<string>();
  for (const w of plan.writes) {
    if (checked.has(w.hash)) continue;
    const health = repo.config.cache.verify ? checkObject(repo.cacheDir, ctx.state, w.hash) : hasObject(repo.cacheDir, w.hash) ? 'ok' : 'missing';
    if (health === 'corrupt') throw corruptObjectError(w.hash, w.path);
    if (health === 'missing') result.missing.push({ path: w.path, hash: w.hash });
    checked.add(w.hash);
  }
  const missingHashes = new Set(result.missing.map((m) => m.hash));
  result.deleted = plan.deletes.slice();
  if (options.dry) {
    for (const w of plan.writes) if (!missingHashes.has(w.hash)) result[w.kind].push(w.path);
    return result;
  }
  for (const p of plan.replaceWholePath) rmSync(join(repo.root, p), { recursive: true, force: true });
  for (const p of plan.deletes) {
    rmSync(join(repo.root, p), { force: true });
    ctx.state.forget(p);
    pruneEmptyDirs(repo.root, dirname(p), items);
  }
  const linker = createLinker(repo);
  for (const w of plan.writes) {
    if (missingHashes.has(w.hash)) continue;
    const abs = join(repo.root, w.path);
    linker.link(w.hash, abs, w.exec);
    ctx.state.record(w.path, statKey(lstatSync(abs)), w.hash, WRITTEN_BY_MLO);
    result[w.kind].push(w.path);
    options.onFile?.(w.size);
  }
  return result;
}

function planItem(ctx: ScanContext, c: Comparison, plan: Plan, result: CheckoutResult): void {
  const { repo } = ctx;
  const item = c.item;
  const cached = (hash: string | undefined) => hash !== undefined && hasObject(repo.cacheDir, hash);
  if (c.manifestMissing) {
    result.missing.push({ path: item.path, hash: item.hash });
    return;
  }
  result.unchanged += c.unchanged;
  // A directory where a file is wanted, or the reverse: the whole path is replaced.
  if (c.current && c.current.kind !== c.kind) {
    const held = c.current.kind === 'file' ? [{ path: item.path, hash: c.current.hash }] : c.current.entries.map((e) => ({ path: `${item.path}/${e.path}`, hash: e.hash }));
    for (const h of held) if (!cached(h.hash)) plan.unsafe.push(h.path);
    plan.replaceWholePath.push(item.path);
    if (c.kind === 'file') plan.writes.push({ path: item.path, hash: item.hash, size: item.size, exec: false, kind: 'modified' });
    else for (const e of c.wanted()) plan.writes.push({ path: `${item.path}/${e.path}`, hash: e.hash, size: e.size, exec: Boolean(e.exec), kind: 'added' });
    return;
  }
  if (c.kind === 'file') {
    if (c.deleted) plan.writes.push({ path: item.path, hash: item.hash, size: item.size, exec: false, kind: 'added' });
    for (const m of c.modified) {
      if (!cached(m.have?.hash)) plan.unsafe.push(m.path);
      plan.writes.push({ path: item.path, hash: item.hash, size: item.size, exec: m.want?.exec ?? false, kind: 'modified' });
    }
    return;
  }
  for (const r of c.removed) plan.writes.push({ path: r.path, hash: r.want!.hash, size: r.want!.size, exec: r.want!.exec, kind: 'added' });
  for (const m of c.modified) {
    if (!cached(m.have?.hash)) plan.unsafe.push(m.path);
    plan.writes.push({ path: m.path, hash: m.want!.hash, size: m.want!.size, exec: m.want!.exec, kind: 'modified' });
  }
  for (const a of c.added) {
    if (!cached(a.have?.hash)) plan.unsafe.push(a.path);
    plan.deletes.push(a.path);
  }
}

/** Removes folders emptied by deletions, up to (not including) the tracked directory itself. */
function pruneEmptyDirs(root: string, dirRel: string, items: Tracked[]): void {
  let dir = dirRel;
  while (dir && dir !== '.' && !items.some((t) => t.path === dir)) {
    const abs = join(root, dir);
    try {
      if (readdirSync(abs).length > 0) return;
      rmdirSync(abs);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}
