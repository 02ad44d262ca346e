import { diffRevisions } from '../../core/data/diff.js';
import { commandRepo } from '../repo.js';
import type { ActionContext } from '../action.js';
import { stdoutColor } from '../output.js';

export async function diff({ out, flags, opts }: ActionContext<{ targets?: string[] }>, a?: string, b?: string): Promise<void> {
  const repo = commandRepo(flags);
  const r = await diffRevisions(repo, { a, b, targets: opts.targets });
  out.result(r, () => {
    const lines = [
      ...r.added.map((e) => `${stdoutColor.green('added:')}    ${e.path}`),
      ...r.modified.map((e) => `${stdoutColor.yellow('modified:')} ${e.path}`),
      ...r.deleted.map((e) => `${stdoutColor.red('deleted:')}  ${e.path}`),
    ];
    if (lines.length === 0) return `No tracked data changed between ${r.a} and ${r.b}.`;
    for (const p of r.unexpanded) lines.push(`(${p}: directory manifest not in the cache; run mlo fetch for file-level detail)`);
    lines.push(`files summary: ${r.added.length} added, ${r.modified.length} modified, ${r.deleted.length} deleted`);
    return lines;
  });
}
