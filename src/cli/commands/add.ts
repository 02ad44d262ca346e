import { isAbsolute } from 'node:path';
import { addTargets, commitTargets, type AddedPath } from '../../core/data/add.js';
import { trackInGit } from '../../core/data/to-track.js';
import type { Repo } from '../../core/repo/repo.js';
import { gitHint } from '../git-hint.js';
import { commandRepo } from '../repo.js';
import { shellPath } from '../../base/shell.js';
import type { ActionContext } from '../action.js';
import { fileProgress } from '../progress.js';
import { formatBytes, type Output } from '../output.js';

interface Where {
  repo: Repo;
  /** The folder mlo was run in: paths the user is to paste are relative to it. */
  cwd: string;
}

function render(out: Output, added: AddedPath[], verb: string, where: Where): void {
  const shell = (rel: string) => shellPath(where.repo.root, where.cwd, rel);
  for (const a of added) for (const s of a.skippedSymlinks) out.warn(`${a.path}/${s} is a symlink and is not tracked`);
  for (const a of added) {
    if (!a.ignoredBy) continue;
    const { source, line, pattern } = a.ignoredBy;
    const rule = `'${pattern}' in ${isAbsolute(source) ? source : shell(source)}:${line}`;
    out.warn(
      `${a.pointerFile} is ignored by git (${rule}); others get the data only if this pointer is committed: git add -f ${shell(a.pointerFile)}, or change that rule`,
    );
  }
  // What git should track: each pointer and the .gitignore entry beside it, when git sees a change in
  // them. Pointers git ignores never qualify (git add would refuse them); the warning above covers them.
  const tracking = trackInGit(
    where.repo,
    added.flatMap((a) => [a.pointerFile, gitignoreOf(a.path)]),
  );
  const toTrack = new Set(tracking.toTrack);
  const items = added.map((a) => ({ ...a, toTrack: [a.pointerFile, gitignoreOf(a.path)].filter((p) => toTrack.has(p)) }));
  out.result(items, () =>
    added.map((a) => {
      const what = a.kind === 'dir' ? `${a.files} files, ${formatBytes(a.size)}` : formatBytes(a.size);
      return `${a.changed ? verb : 'unchanged'} ${a.path} (${what}) -> ${a.pointerFile}`;
    }),
  );
  gitHint(out, { root: where.repo.root, cwd: where.cwd }, tracking, 'track the changes');
}

function gitignoreOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '.gitignore' : `${path.slice(0, i)}/.gitignore`;
}

export async function add({ out, flags }: ActionContext<object>, paths: string[]): Promise<void> {
  const repo = commandRepo(flags);
  const progress = fileProgress(out, 'adding');
  const added = await addTargets(repo, {
    cwd: flags.cwd,
    targets: paths,
    onFile: progress.onFile,
    onTotals: progress.onTotals,
    onBytes: progress.onBytes,
  }).finally(progress.done);
  render(out, added, 'added', { repo, cwd: flags.cwd });
}

export async function commit({ out, flags }: ActionContext<object>, targets: string[]): Promise<void> {
  const repo = commandRepo(flags);
  const progress = fileProgress(out, 'committing');
  const committed = await commitTargets(repo, {
    cwd: flags.cwd,
    targets,
    onFile: progress.onFile,
    onTotals: progress.onTotals,
    onBytes: progress.onBytes,
  }).finally(progress.done);
  render(out, committed, 'committed', { repo, cwd: flags.cwd });
}
