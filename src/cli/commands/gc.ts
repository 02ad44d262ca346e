import { collectGarbage } from '../../core/sync/gc.js';
import { commandRepo } from '../repo.js';
import type { ActionContext } from '../action.js';
import type { GcFlags } from '../options.js';
import { formatBytes } from '../output.js';
import { plural } from '../../base/plural.js';

export async function gc({ out, flags, opts }: ActionContext<GcFlags>): Promise<void> {
  const repo = commandRepo(flags);
  const r = await collectGarbage(repo, { ...opts, revs: opts.rev });
  const damaged = r.runCache?.damaged ?? [];
  if (damaged.length) {
    out.warn(
      `${plural(damaged.length, 'run-cache entry fails its', 'run-cache entries fail their')} checks (${damaged[0].key.slice(0, 12)}: ${damaged[0].reason}${damaged.length > 1 ? ', ...' : ''}); the objects ${damaged.length === 1 ? 'it names were' : 'they name were'} kept`,
    );
  }
  // Only --dry and --force get this far with such directories; without them core refuses.
  for (const d of r.unknownDirectories)
    out.warn(
      `the manifest of ${d.path} (${d.source}, ${d.hash.slice(0, 12)}) is not in the cache; ${r.dry ? 'without --force gc refuses to delete' : 'its files were not kept for it (--force)'}`,
    );
  out.result(r, () => {
    const verb = r.dry ? 'would remove' : 'removed';
    const lines = flags.verbose ? r.removed.map((o) => `${verb} ${o.hash} (${formatBytes(o.size)})`) : [];
    lines.push(`${verb} ${r.removed.length} objects, ${formatBytes(r.bytes)}${r.dry ? '' : ' freed'}; kept ${r.kept}`);
    return lines;
  });
}
