import { relative } from 'node:path';
import { usageError } from '../../base/errors.js';
import { toPosix } from '../../base/fs.js';
import { addStage, commandLine } from '../../core/pipeline/stageadd.js';
import type { Command } from '../commander.js';
import { commandRepo } from '../repo.js';
import type { ActionContext } from '../action.js';
import type { StageAddFlags } from '../options.js';

/** The argv the program was parsed from (commander keeps it on the root command only). */
function rawArgs(command: Command): string[] {
  let root = command;
  while (root.parent) root = root.parent;
  return (root as Command & { rawArgs: string[] }).rawArgs;
}

/**
 * Without `--`, commander takes an option typed after the command (`python train.py -o out`) as mlo's
 * own: the script's `-o` would silently become a stage out and vanish from cmd. Refused, with the fix.
 */
function checkDoubleDash(command: Command, words: string[]): void {
  const args = rawArgs(command);
  if (args.includes('--')) return;
  const first = args.indexOf(words[0]);
  const late = args.slice(first + 1).find((a) => a.startsWith('-') && a.length > 1);
  if (first < 0 || !late) return;
  throw usageError(
    `stage add: option '${late}' comes after the command '${words.join(' ')}'`,
    `put mlo's options first and the command after --: mlo stage add -n NAME [options] -- ${words[0]} ...`,
  );
}

export function stageAdd({ out, flags, opts, command: cmd }: ActionContext<StageAddFlags>, command: string[]): void {
  checkDoubleDash(cmd, command);
  const repo = commandRepo(flags);
  // Run from a subfolder, the stage works there: its paths are relative to it, as typed.
  const here = toPosix(relative(repo.root, flags.cwd));
  const result = addStage(repo, {
    name: opts.name,
    cmd: commandLine(command),
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
