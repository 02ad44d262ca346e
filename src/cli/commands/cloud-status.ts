import { commandRepo } from '../repo.js';
import { cloudStatus as run } from '../../core/sync/cloud-status.js';
import type { ActionContext, Outcome } from '../action.js';
import { stdoutColor } from '../output.js';
import { plural } from '../../base/plural.js';

export async function cloudStatus({ out, flags, opts }: ActionContext<{ remote?: string; exitCode?: boolean }>, targets: string[]): Promise<Outcome> {
  const repo = commandRepo(flags);
  const r = await run(repo, { cwd: flags.cwd, targets, remote: opts.remote });
  const gate = opts.exitCode || flags.quiet;
  // -q: the exit code is the answer, as `mlo status -q`.
  if (!flags.quiet || flags.json)
    out.result(r, () => {
      if (r.entries.length === 0) return 'Nothing is tracked yet (track data with mlo add).';
      if (r.inSync) return `Everything is in sync with remote ${r.remote} (${r.totals.objects} objects).`;
      const lines = [`Compared with remote ${r.remote} (${r.url}):`];
      for (const e of r.entries) {
        if (!e.localOnly && !e.remoteOnly && !e.missing) continue;
        if (e.localOnly) lines.push(`  ${stdoutColor.yellow('local only:')}  ${e.path} (${plural(e.localOnly, 'object')}) — run mlo push`);
        if (e.remoteOnly) lines.push(`  ${stdoutColor.cyan('remote only:')} ${e.path} (${plural(e.remoteOnly, 'object')}) — run mlo pull`);
        if (e.missing) lines.push(`  ${stdoutColor.red('missing:')}     ${e.path} (${plural(e.missing, 'object')}) — in neither the cache nor the remote`);
      }
      const t = r.totals;
      lines.push(`${t.objects} objects: ${t.both} in both, ${t.localOnly} only local, ${t.remoteOnly} only on the remote, ${t.missing} missing`);
      return lines;
    });
  // With --exit-code, objects only in the cache or in neither place fail the gate; remote-only ones are fine.
  return { failed: Boolean(gate) && r.entries.some((e) => e.localOnly || e.missing) };
}
