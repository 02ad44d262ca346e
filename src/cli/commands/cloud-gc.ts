import { commandRepo } from '../repo.js';
import { cloudGc as run } from '../../core/sync/cloud-gc.js';
import type { ActionContext } from '../action.js';
import type { GcFlags } from '../options.js';
import { formatBytes } from '../output.js';
import { plural } from '../../base/plural.js';

export async function cloudGc({ out, flags, opts }: ActionContext<GcFlags & { remote?: string }>): Promise<void> {
  const repo = commandRepo(flags);
  const r = await run(repo, {
    cwd: flags.cwd,
    remote: opts.remote,
    dry: opts.dry,
    force: opts.force,
    revs: opts.rev,
    runCache: opts.runCache,
    workspace: opts.workspace,
    allBranches: opts.allBranches,
    allTags: opts.allTags,
    allCommits: opts.allCommits,
    // Printed before anything is deleted, so an interrupted run still said what it was doing.
    onPlan: (p) =>
      out.info(
        `${opts.dry ? 'would remove' : 'removing'} ${plural(p.objects, 'object')} (${formatBytes(p.bytes)}) that nothing in scope references from ${p.remote} (${p.url})`,
      ),
  });
  const refused = r.runCache?.refused ?? [];
  if (refused.length) {
    out.warn(
      `${plural(refused.length, 'run-cache entry', 'run-cache entries')} on the remote ${refused.length === 1 ? 'fails its' : 'fail their'} checks (${refused[0].entry}: ${refused[0].reason}${refused.length > 1 ? ', ...' : ''}); the objects ${refused.length === 1 ? 'it names were' : 'they name were'} kept, the ${refused.length === 1 ? 'entry was' : 'entries were'} not deleted`,
    );
  }
  // Only --dry and --force get this far with such directories; without them core refuses.
  for (const d of r.unknownDirectories)
    out.warn(
      `the manifest of ${d.path} (${d.hash.slice(0, 12)}) is neither cached nor on the remote; ${r.dry ? 'without --force gc --cloud refuses to delete' : 'its files were not kept for it (--force)'}`,
    );
  out.result(r, () => {
    const verb = r.dry ? 'would remove' : 'removed';
    const lines = flags.verbose ? r.removed.map((o) => `${verb} ${o.hash} (${formatBytes(o.size)})`) : [];
    lines.push(`${verb} ${plural(r.removed.length, 'object')}, ${formatBytes(r.bytes)} from ${r.remote} (${r.url}); kept ${r.kept}`);
    if (r.staleTemps) lines.push(`${verb} ${plural(r.staleTemps, 'stale temp file')} (.mlo-tmp-*) left by interrupted uploads`);
    return lines;
  });
}
