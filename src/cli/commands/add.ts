import { isAbsolute } from 'node:path';
import { addTargets, commitTargets, type AddedPath } from '../../core/data/add.js';
import type { Repo } from '../../core/repo/repo.js';
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
  out.result(added, () =>
    added.map((a) => {
      const what = a.kind === 'dir' ? `${a.files} files, ${formatBytes(a.size)}` : formatBytes(a.size);
      return `${a.changed ? verb : 'unchanged'} ${a.path} (${what}) -> ${a.pointerFile}`;
    }),
  );
  // Guidance, not the result: on stderr, and silent under -q.
  // Pointers git ignores are left out (git add would fail on them); the warning above covers them.
  const toAdd = added.filter((a) => !a.ignoredBy);
  if (added.some((a) => a.changed) && verb === 'added' && toAdd.length) {
    const files = [...new Set(toAdd.flatMap((a) => [a.pointerFile, gitignoreOf(a.path)]))];
    out.info(`\nTo track the changes with git, run:\n    git add ${files.map((f) => shell(f)).join(' ')}`);
  }
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
