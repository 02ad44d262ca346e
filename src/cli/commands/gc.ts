import { collectGarbage } from '../../core/gc.js';
import { openRepo } from '../../core/repo.js';
import type { ActionContext } from '../action.js';
import type { GcFlags } from '../areas/data.js';
import { formatBytes } from '../output.js';

export async function gc({ out, flags, opts }: ActionContext<GcFlags>): Promise<void> {
  const repo = openRepo({ cwd: flags.cwd });
  const r = await collectGarbage(repo, { ...opts, revs: opts.rev });
  out.result(r, () => {
    const verb = r.dry ? 'would remove' : 'removed';
    const lines = flags.verbose ? r.removed.map((o) => `${verb} ${o.hash} (${formatBytes(o.size)})`) : [];
    lines.push(`${verb} ${r.removed.length} objects, ${formatBytes(r.bytes)}${r.dry ? '' : ' freed'}; kept ${r.kept}`);
    return lines;
  });
}
