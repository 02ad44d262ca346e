import { checkoutTargets } from '../../core/data/checkout.js';
import { MloError } from '../../base/errors.js';
import { commandRepo } from '../repo.js';
import type { ActionContext } from '../action.js';
import { fileProgress } from '../progress.js';
import { plural } from '../../base/plural.js';

export async function checkout({ out, flags, opts }: ActionContext<{ force?: boolean; dry?: boolean }>, targets: string[]): Promise<void> {
  const repo = commandRepo(flags);
  const progress = fileProgress(out, 'checking out');
  const r = await checkoutTargets(repo, { cwd: flags.cwd, targets, force: opts.force, dry: opts.dry, onFile: progress.onFile }).finally(progress.done);
  const prefix = opts.dry ? 'would ' : '';
  const render = () => {
    const lines = [
      ...r.added.map((p) => `${prefix}add      ${p}`),
      ...r.modified.map((p) => `${prefix}update   ${p}`),
      ...r.deleted.map((p) => `${prefix}delete   ${p}`),
    ];
    if (!flags.verbose && lines.length > 20) lines.splice(20, lines.length - 20, `... and ${lines.length - 20} more (-v lists all)`);
    lines.push(`${r.added.length} added, ${r.modified.length} modified, ${r.deleted.length} deleted, ${r.unchanged} unchanged`);
    return lines;
  };
  if (r.missing.length) {
    // Under --json the error document carries the result, so stdout stays one JSON document.
    if (!flags.json) out.result(r, render);
    throw new MloError(
      'MLO_MISSING_FROM_CACHE',
      `${plural(r.missing.length, 'tracked path is', 'tracked paths are')} not in the cache: ${r.missing
        .slice(0, 3)
        .map((m) => m.path)
        .join(', ')}`,
      {
        hint: 'download them with `mlo pull` (or `mlo fetch` then `mlo checkout`)',
        meta: { result: r },
      },
    );
  }
  out.result(r, render);
}
