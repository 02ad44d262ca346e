import { Option, type Command } from '../commander.js';
import { action } from '../action.js';
import { enumOption, intOption, portOption, regexOption } from '../options.js';
import type { UiOpts } from '../commands/ui.js';
import type { ExpRunFlags, ExpShowFlags, PlotsFlags, RevDiffFlags } from '../options.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Experiment tracking: exp, queue, log, metrics, params, plots, and the ui that shows them. Bodies import SQLite lazily. */
export function register(program: Command): void {
  const exp = program.command('exp').alias('experiments').description('run, compare and manage experiments (recorded runs)');

  exp
    .command('run')
    .description('run the pipeline with changed params (-S) and record it, without committing; grids need --queue')
    .argument('[targets...]', 'stage names (default: all)')
    .option('-S, --set-param <[file:]key=value>', 'override a param: lr=0.1, train.yaml:epochs=5; grids: lr=0.1,0.01 or depth=range(2,8) (repeatable)', collect)
    .option('-n, --name <name>', 'name the run')
    .option('--queue', 'queue the run(s) instead of running now (start them with mlo queue start)')
    .option('-e, --experiment <name>', 'experiment the run belongs to', 'default')
    .option('-f, --force', 'run every stage even if nothing changed')
    .addOption(new Option('--queued <run>', 'run a queued run (used by queue workers)').hideHelp())
    .action(action<ExpRunFlags & { setParam?: string[] }, [string[]]>(async (ctx, targets) => (await import('../commands/exp.js')).expRunCmd(ctx, targets)));

  exp
    .command('show')
    .description('one row per run: params and metrics as columns, the best value of each metric marked')
    .option('--csv', 'comma-separated values')
    .option('--md', 'a Markdown table')
    .option('--sort-by <metric>', 'sort by a metric or param (best first)')
    .option('--sort-order <order>', 'override the sort direction: asc or desc', enumOption('--sort-order', ['asc', 'desc'] as const))
    .option('--only-changed', 'only the columns whose values differ between runs')
    .option('--keep <regex>', 'always show the columns whose name matches (wins over --drop and --only-changed)', regexOption('--keep'))
    .option('--drop <regex>', "hide the columns whose name matches, e.g. --drop 'Created|Commit' or --drop '.' --keep acc", regexOption('--drop'))
    .option('-l, --limit <n>', 'at most N runs', intOption('--limit', { min: 1 }))
    .option('--precision <n>', 'significant digits of numbers (default 5)', intOption('--precision', { min: 1, max: 17 }))
    .option('-e, --experiment <name>', 'only runs of this experiment')
    .action(action<ExpShowFlags>(async (ctx) => (await import('../commands/exp.js')).expShowCmd(ctx)));

  exp
    .command('diff')
    .description('params and metrics of two runs side by side, with changes')
    .argument('<run_a>', 'run id, id prefix or name')
    .argument('<run_b>', 'run id, id prefix or name')
    .option('--all', 'include unchanged params')
    .option('--md', 'a Markdown table')
    .action(action<RevDiffFlags, [string, string]>(async (ctx, a, b) => (await import('../commands/exp.js')).expDiffCmd(ctx, a, b)));

  exp
    .command('apply')
    .description("put a run's params files, mlo.lock and outputs back into the workspace")
    .argument('<run>', 'run id, id prefix or name')
    .action(action<object, [string]>(async (ctx, run) => (await import('../commands/exp.js')).expApplyCmd(ctx, run)));

  exp
    .command('branch')
    .description("create a git branch from the run's commit with its params files and mlo.lock (workspace untouched)")
    .argument('<run>', 'run id, id prefix or name')
    .argument('<branch>', 'new branch name')
    .action(action<object, [string, string]>(async (ctx, run, branch) => (await import('../commands/exp.js')).expBranchCmd(ctx, run, branch)));

  exp
    .command('remove')
    .alias('rm')
    .description('delete runs (their database rows and their committed run files)')
    .argument('<runs...>', 'run ids, id prefixes or names')
    .action(action<object, [string[]]>(async (ctx, runs) => (await import('../commands/exp.js')).expRemoveCmd(ctx, runs)));

  for (const verb of ['push', 'pull'] as const) {
    exp
      .command(verb)
      .description(
        verb === 'push'
          ? 'send the records of ended runs to the mlo remote, so anyone can pull them'
          : 'bring every run record on the mlo remote (any branch, machine or queue worker) into exp show',
      )
      .option('-r, --remote <name>', 'remote to use (default: core.remote, or the only one)')
      .option('-j, --jobs <n>', 'concurrent requests', intOption('--jobs', { min: 1 }))
      .action(
        action<{ remote?: string; jobs?: number }>(async (ctx) => {
          const m = await import('../commands/exp-share.js');
          return verb === 'push' ? m.expPushCmd(ctx) : m.expPullCmd(ctx);
        }),
      );
  }

  const queue = program.command('queue').description('run queued experiments: local workers, or shared workers on a Redis broker (queue.broker)');
  queue
    .command('start')
    .description('run every queued run, N at a time, each in its own temporary git worktree (the cache is shared)')
    .option('-j, --jobs <n>', 'parallel workers (default 1)', intOption('--jobs', { min: 1 }))
    .action(action<{ jobs?: number }>(async (ctx) => (await import('../commands/queue.js')).queueStart(ctx)));
  queue
    .command('status')
    .description('queued, running and finished queue runs')
    .action(action(async (ctx) => (await import('../commands/queue.js')).queueStatusCmd(ctx)));
  queue
    .command('logs')
    .description("a queue run's output (its stages' stdout and stderr)")
    .argument('<run>', 'run id, id prefix or name')
    .option('-f, --follow', 'shared queue: keep printing lines as the worker logs them, until the job ends')
    .action(action<{ follow?: boolean }, [string]>(async (ctx, run) => (await import('../commands/queue.js')).queueLogs(ctx, run)));
  queue
    .command('worker')
    .description('take jobs from the shared queue (queue.broker) and run them in clean worktrees of this clone')
    .option('-c, --concurrency <n>', 'jobs at a time (default 1)', intOption('--concurrency', { min: 1 }))
    .option('--exit-when-empty', 'stop once no job is waiting or running (CI runners, batch machines)')
    .option('--clone <url>', 'work in a clone of this git URL (made, or fetched when it exists) instead of the current repository')
    .option('--work <dir>', 'folder for --clone (default ./mlo-worker)')
    .action(
      action<{ concurrency?: number; exitWhenEmpty?: boolean; clone?: string; work?: string }>(async (ctx) =>
        (await import('../commands/queue.js')).queueWorker(ctx),
      ),
    );
  queue
    .command('cancel')
    .description('shared queue: remove waiting jobs and stop running ones')
    .argument('[runs...]', 'run ids, id prefixes or names')
    .option('--all', 'every waiting and running job')
    .action(action<{ all?: boolean }, [string[]]>(async (ctx, runs) => (await import('../commands/queue.js')).queueCancel(ctx, runs)));

  const log = program.command('log').description('log a metric, param or tag into the current run ($MLO_RUN_ID) from any language');
  log
    .command('metric')
    .description('log a metric value (non-numeric values are kept as text)')
    .argument('<key>')
    .argument('<value>')
    .option('--step <n>', 'step (default: one more than the last step of this key)', intOption('--step', { min: 0 }))
    .option('--run <run>', 'log into this run instead of $MLO_RUN_ID')
    .action(action<{ step?: number; run?: string }, [string, string]>(async (ctx, k, v) => (await import('../commands/log.js')).logCmd(ctx, 'metric', k, v)));
  for (const kind of ['param', 'tag'] as const) {
    log
      .command(kind)
      .description(`log a ${kind}`)
      .argument('<key>')
      .argument('<value>')
      .option('--run <run>', 'log into this run instead of $MLO_RUN_ID')
      .action(action<{ run?: string }, [string, string]>(async (ctx, k, v) => (await import('../commands/log.js')).logCmd(ctx, kind, k, v)));
  }

  const metrics = program.command('metrics').description('metrics files in the workspace and at git revisions');
  metrics
    .command('show')
    .description('the metrics files of the workspace (declared in mlo.yaml, else metrics.json/metrics.yaml)')
    .option('-a, --all-branches', 'also every local branch')
    .option('--md', 'a Markdown table')
    .option('--precision <n>', 'significant digits (default 5)', intOption('--precision', { min: 1, max: 17 }))
    .action(action<{ allBranches?: boolean; md?: boolean; precision?: number }>(async (ctx) => (await import('../commands/metrics.js')).metricsShow(ctx)));
  metrics
    .command('diff')
    .description('metrics changed between two revisions (default: HEAD and the workspace), with deltas and percentages')
    .argument('[a_rev]', 'old revision: branch, tag or sha (default HEAD)')
    .argument('[b_rev]', 'new revision (default: the workspace)')
    .option('--all', 'include unchanged metrics')
    .option('--md', 'a Markdown table (for pull-request comments)')
    .option('--precision <n>', 'significant digits (default 5)', intOption('--precision', { min: 1, max: 17 }))
    .action(
      action<RevDiffFlags, [string | undefined, string | undefined]>(async (ctx, a, b) => (await import('../commands/metrics.js')).metricsDiff(ctx, a, b)),
    );

  const params = program.command('params').description('params files in the workspace and at git revisions');
  params
    .command('diff')
    .description('params changed between two revisions (default: HEAD and the workspace)')
    .argument('[a_rev]', 'old revision (default HEAD)')
    .argument('[b_rev]', 'new revision (default: the workspace)')
    .option('--all', 'include unchanged params')
    .option('--md', 'a Markdown table')
    .action(action<RevDiffFlags, [string | undefined, string | undefined]>(async (ctx, a, b) => (await import('../commands/params.js')).paramsDiff(ctx, a, b)));

  const plots = program.command('plots').description('step series and metrics as one self-contained HTML page (Vega-Lite specs, no network needed)');
  plots
    .command('show')
    .description('plots of runs (default: the latest 10)')
    .argument('[runs...]', 'run ids, id prefixes or names')
    .option('-o, --out <file>', 'HTML file to write', 'plots.html')
    .option('-l, --limit <n>', 'how many recent runs without RUNS (default 10)', intOption('--limit', { min: 1 }))
    .action(action<PlotsFlags, [string[]]>(async (ctx, runs) => (await import('../commands/plots.js')).plotsShow(ctx, runs)));
  plots
    .command('diff')
    .description('metrics and step series across git revisions (default: HEAD and the workspace)')
    .argument('[revs...]', 'branches, tags or shas ("workspace" for the working tree)')
    .option('-o, --out <file>', 'HTML file to write', 'plots.html')
    .action(action<PlotsFlags, [string[]]>(async (ctx, revs) => (await import('../commands/plots.js')).plotsDiff(ctx, revs)));

  program
    .command('ui')
    .description('a local web page of runs, comparisons, revisions, models, the pipeline and data (read-only)')
    .option('-p, --port <port>', 'port (0 picks a free one)', portOption('--port'), 5000)
    .option('--host <host>', 'address to listen on (not loopback: needs --token)', '127.0.0.1')
    .addOption(new Option('--token <token>', 'require this token on API calls (open the page with ?token=...)').env('MLO_UI_TOKEN'))
    .option('--open', 'open the page in the default browser')
    .action(action<UiOpts>(async (ctx) => (await import('../commands/ui.js')).ui(ctx)));
}
