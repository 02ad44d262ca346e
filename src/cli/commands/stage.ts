import { relative } from 'node:path';
import { toPosix } from '../../base/fs.js';
import { addStage } from '../../core/pipeline/stageadd.js';
import { commandRepo } from '../repo.js';
import type { ActionContext } from '../action.js';
import type { StageAddFlags } from '../options.js';

export function stageAdd({ out, flags, opts }: ActionContext<StageAddFlags>, command: string[]): void {
  const repo = commandRepo(flags);
  // Run from a subfolder, the stage works there: its paths are relative to it, as typed.
  const here = toPosix(relative(repo.root, flags.cwd));
  const result = addStage(repo, {
    name: opts.name,
    cmd: command.join(' '),
    deps: opts.deps,
    outs: opts.outs,
    outsNoCache: opts.outsNoCache,
    outsPersist: opts.outsPersist,
    metrics: opts.metrics,
    metricsNoCache: opts.metricsNoCache,
    plots: opts.plots,
    params: opts.params,
    wdir: opts.wdir ?? (here && !here.startsWith('..') ? here : undefined),
    desc: opts.desc,
    alwaysChanged: opts.alwaysChanged,
    force: opts.force,
  });
  out.result(result, () => `${result.replaced ? 'Replaced' : 'Added'} stage '${result.name}' in ${result.file}. Run it with: mlo run ${result.name}`);
}
