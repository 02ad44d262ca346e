import { addTargets, commitTargets, type AddedPath } from '../../core/add.js';
import { openRepo } from '../../core/repo.js';
import type { ActionContext } from '../action.js';
import { formatBytes, type Output } from '../output.js';

function fileProgress(out: Output, label: string) {
  const bar = out.progress(label);
  let files = 0;
  let bytes = 0;
  return {
    onFile: (n: number) => bar.update({ files: ++files, bytes: (bytes += n) }),
    onTotals: (t: { files: number; bytes: number }) => bar.total(t),
    done: () => bar.done(),
  };
}

function render(out: Output, added: AddedPath[], verb: string): void {
  for (const a of added) for (const s of a.skippedSymlinks) out.warn(`${a.path}/${s} is a symlink and is not tracked`);
  out.result(added, () =>
    added.map((a) => {
      const what = a.kind === 'dir' ? `${a.files} files, ${formatBytes(a.size)}` : formatBytes(a.size);
      return `${a.changed ? verb : 'unchanged'} ${a.path} (${what}) -> ${a.pointerFile}`;
    }),
  );
  // Guidance, not the result: on stderr, and silent under -q.
  if (added.some((a) => a.changed) && verb === 'added') {
    out.info(`\nTo track the changes with git, run:\n    git add ${[...new Set(added.flatMap((a) => [a.pointerFile, gitignoreOf(a.path)]))].join(' ')}`);
  }
}

function gitignoreOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '.gitignore' : `${path.slice(0, i)}/.gitignore`;
}

export async function add({ out, flags }: ActionContext<object>, paths: string[]): Promise<void> {
  const repo = openRepo({ cwd: flags.cwd });
  const progress = fileProgress(out, 'adding');
  const added = await addTargets(repo, { cwd: flags.cwd, targets: paths, onFile: progress.onFile, onTotals: progress.onTotals }).finally(progress.done);
  render(out, added, 'added');
}

export async function commit({ out, flags }: ActionContext<object>, targets: string[]): Promise<void> {
  const repo = openRepo({ cwd: flags.cwd });
  const progress = fileProgress(out, 'committing');
  const committed = await commitTargets(repo, { cwd: flags.cwd, targets, onFile: progress.onFile, onTotals: progress.onTotals }).finally(progress.done);
  render(out, committed, 'committed');
}

export { fileProgress };
