import { collectGarbage } from '../../core/sync/gc.js';
import { openRepo } from '../../core/repo/repo.js';
import type { ActionContext } from '../action.js';
import type { GcFlags } from '../options.js';
import { formatBytes } from '../output.js';

export async function gc({ out, flags, opts }: ActionContext<GcFlags>): Promise<void> {
  const repo = openRepo({ cwd: flags.cwd });
  const r = await collectGarbage(repo, { ...opts, revs: opts.rev });
  const damaged = r.runCache?.damaged ?? [];
  if (damaged.length) {
    out.warn(`${damaged.length} run-cache ${damaged.length === 1 ? 'entry fails its' : 'entries fail their'} checks (${damaged[0].key.slice(0, 12)}: ${damaged[0].reason}${damaged.length > 1 ? ', ...' : ''}); the objects ${damaged.length === 1 ? 'it names were' : 'they name were'} kept`);
  }
  out.result(r, () => {
    const verb = r.dry ? 'would remove' : 'removed';
    const lines = flags.verbose ? r.removed.map((o) => `${verb} ${o.hash} (${formatBytes(o.size)})`) : [];
    lines.push(`${verb} ${r.removed.length} objects, ${formatBytes(r.bytes)}${r.dry ? '' : ' freed'}; kept ${r.kept}`);
    return lines;
  });
}
