import type { Command } from '../commander.js';
import { action } from '../action.js';
import { intOption } from '../options.js';
import type { RunFlags, StageAddFlags } from '../options.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Pipelines: stage add, run (repro), dag. Command bodies import core modules lazily to keep start-up fast. */
export function register(program: Command): void {
  const stage = program.command('stage').description('edit the stages of mlo.yaml');
  stage
    .command('add')
    .description('add a stage to mlo.yaml (comments in the file are kept)')
    .requiredOption('-n, --name <name>', 'stage name')
    .option('-d, --deps <path>', 'a file or directory the command reads (repeatable)', collect)
    .option('-o, --outs <path>', 'an output stored in the cache (repeatable)', collect)
    .option('-O, --outs-no-cache <path>', 'an output kept in git, not cached (repeatable)', collect)
    .option('--outs-persist <path>', 'an output not deleted before the command runs (repeatable)', collect)
    .option('-p, --params <keys>', 'params the stage depends on: key[,key] or file.yaml:key[,key] (repeatable)', collect)
    .option('-m, --metrics <path>', 'a metrics file, cached (repeatable)', collect)
    .option('-M, --metrics-no-cache <path>', 'a metrics file kept in git (repeatable)', collect)
    .option('--plots <path>', 'a plot data file (repeatable)', collect)
    .option('-w, --wdir <dir>', 'working directory of the command, relative to the root')
    .option('--desc <text>', 'a description')
    .option('--always-changed', 'run the stage every time')
    .option('-f, --force', 'replace a stage of the same name')
    .argument('<command...>', 'the command (put it after --)')
    // `mlo stage add -n s python3 -c ...` without `--`: commander reads `-c` as an unknown option of mlo.
    .configureOutput({
      outputError: (str, write) =>
        write(/unknown option/.test(str) ? `${str}hint: put the command after --: mlo stage add -n NAME [options] -- CMD ARGS...\n` : str),
    })
    .action(action<StageAddFlags, [string[]]>(async (ctx, command) => (await import('../commands/stage.js')).stageAdd(ctx, command)));

  program
    .command('run')
    .alias('repro')
    .description('run the pipeline stages whose cmd, deps, params or outs changed (all, or TARGETS and their upstream)')
    .argument('[targets...]', 'stage names (a foreach/matrix name selects all its stages)')
    .option('-f, --force', 'run the stages even if nothing changed (and skip the run cache)')
    .option('--dry', 'print what would run and why; change nothing')
    .option('-s, --single-item', 'only the targets, not their upstream stages')
    .option('--downstream', 'the targets and every stage downstream of them')
    .option('-k, --keep-going', 'after a failure, keep running the stages that do not depend on it')
    .option('--pull', 'fetch missing outputs from the default remote instead of re-running, when their hashes are known')
    .option('-j, --jobs <n>', 'stages run in parallel (default 1)', intOption('--jobs', { min: 1 }))
    .option('--no-run-cache', 'do not restore outputs of earlier identical runs from the run cache')
    .action(action<RunFlags, [string[]]>(async (ctx, targets) => (await import('../commands/run.js')).run(ctx, targets)));

  program
    .command('dag')
    .description('print the stage graph (text, --mermaid, --dot or --json)')
    .argument('[targets...]', 'only these stages and their upstream')
    .option('--mermaid', 'a Mermaid flowchart')
    .option('--dot', 'Graphviz dot')
    .action(action<{ mermaid?: boolean; dot?: boolean }, [string[]]>(async (ctx, targets) => (await import('../commands/dag.js')).dag(ctx, targets)));
}
