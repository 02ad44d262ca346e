import { openRepo } from '../../core/repo.js';
import { statusTargets, type StatusEntry } from '../../core/status.js';
import type { ActionContext } from '../action.js';
import { color } from '../output.js';

export function status({ out, flags }: ActionContext<object>, targets: string[]): void {
  const repo = openRepo({ cwd: flags.cwd });
  const entries = statusTargets(repo, { cwd: flags.cwd, targets });
  const dirty = entries.filter((e) => e.status !== 'clean' || !e.inCache);
  out.result({ clean: dirty.length === 0, entries }, () => {
    if (entries.length === 0) return 'Nothing is tracked yet (track data with mlo add).';
    if (dirty.length === 0) return `Everything is up to date (${entries.length} tracked ${entries.length === 1 ? 'path' : 'paths'}).`;
    return dirty.flatMap((e) => describe(e, flags.verbose));
  });
}

function describe(e: StatusEntry, verbose: boolean): string[] {
  const lines: string[] = [];
  const label = e.stage ? `${e.path} (stage ${e.stage})` : e.path;
  if (e.status === 'deleted') lines.push(`${color.red('deleted:')}   ${label}`);
  else if (e.status === 'modified') {
    const counts = e.kind === 'dir' ? ` (${[plural(e.added.length, 'added'), plural(e.modified.length, 'modified'), plural(e.deleted.length, 'deleted')].filter(Boolean).join(', ')})` : '';
    lines.push(`${color.yellow('modified:')}  ${label}${counts}`);
    if (verbose && e.kind === 'dir') {
      for (const p of e.added) lines.push(`    added:    ${p}`);
      for (const p of e.modified) lines.push(`    modified: ${p}`);
      for (const p of e.deleted) lines.push(`    deleted:  ${p}`);
    }
  }
  if (!e.inCache) lines.push(`${color.red('not in cache:')} ${label}${e.kind === 'dir' ? ` (${e.missingObjects} objects)` : ''} — run mlo pull`);
  return lines;
}

function plural(n: number, word: string): string {
  return n ? `${n} ${word}` : '';
}
