import type { Command } from '../commander.js';
import { action } from '../action.js';
import type { GcFlags } from '../options.js';

/** Data versioning: init, add, status, commit, checkout, diff, list, gc, fsck, version/doctor. */
export function register(program: Command): void {
  program
    .command('init')
    .description('create .mlo/ in this folder (inside a git work tree unless --no-scm)')
    .option('--no-scm', 'use mlo without git')
    .option('--template <name>', 'also add a CI workflow that runs the pipeline and posts mlo ci report: github or gitlab')
    .option('--force', 'with --template: replace an existing workflow file')
    .action(action<{ scm: boolean; template?: string; force?: boolean }>(async (ctx) => (await import('../commands/init.js')).init(ctx)));

  program
    .command('add')
    .description('track files or directories: store their content in the cache and write PATH.mlo pointers')
    .argument('<paths...>', 'files, directories or glob patterns')
    .action(action<object, [string[]]>(async (ctx, paths) => (await import('../commands/add.js')).add(ctx, paths)));

  program
    .command('commit')
    .description('record the current content of tracked paths after they were edited')
    .argument('[targets...]', 'tracked paths (default: all)')
    .action(action<object, [string[]]>(async (ctx, targets) => (await import('../commands/add.js')).commit(ctx, targets)));

  program
    .command('status')
    .description('show tracked paths that differ from their pointers or are missing from the cache')
    .argument('[targets...]', 'tracked paths (default: all)')
    .option('-c, --cloud', 'compare the cache with a remote: what is only local, only remote, or in neither')
    .option('-r, --remote <name>', 'remote for --cloud (default: core.remote)')
    .option('--exit-code', 'exit 1 when any data or stage is out of date, for CI gates (-q implies it and prints nothing, as dvc status -q does)')
    .action(
      action<{ cloud?: boolean; remote?: string; exitCode?: boolean }, [string[]]>(async (ctx, targets) =>
        ctx.opts.cloud ? (await import('../commands/cloud-status.js')).cloudStatus(ctx, targets) : (await import('../commands/status.js')).status(ctx, targets),
      ),
    );

  program
    .command('checkout')
    .description('make the workspace match the pointer files (after git checkout or git pull)')
    .argument('[targets...]', 'tracked paths (default: all)')
    .option('-f, --force', 'overwrite or delete workspace changes that are not in the cache')
    .option('--dry', 'show what would change without changing anything')
    .action(action<{ force?: boolean; dry?: boolean }, [string[]]>(async (ctx, targets) => (await import('../commands/checkout.js')).checkout(ctx, targets)));

  program
    .command('diff')
    .description('tracked files added, modified and deleted between two git revisions (default: HEAD and the workspace)')
    .argument('[a_rev]', 'old revision (default HEAD)')
    .argument('[b_rev]', 'new revision (default: the workspace)')
    .option('--targets <paths...>', 'only these tracked paths')
    .action(
      action<{ targets?: string[] }, [string | undefined, string | undefined]>(async (ctx, a, b) => (await import('../commands/diff.js')).diff(ctx, a, b)),
    );

  program
    .command('list')
    .alias('ls')
    .description('tracked paths with their sizes and file counts')
    .action(action(async (ctx) => (await import('../commands/list.js')).list(ctx)));

  program
    .command('gc')
    .description('remove cache objects that no pointer in the chosen revisions references')
    .option('-w, --workspace', 'keep what the workspace pointers reference')
    .option('-a, --all-branches', 'keep what every branch references')
    .option('-T, --all-tags', 'keep what every tag references')
    .option('-A, --all-commits', 'keep what every commit references')
    .option('--rev <revs...>', 'keep what these revisions reference')
    .option('--dry', 'show what would be removed')
    .option('--no-run-cache', 'do not keep the objects only run-cache entries need (those runs will run again)')
    .option('-c, --cloud', 'remove unreferenced objects from a remote instead of the cache')
    .option('-r, --remote <name>', 'remote for --cloud (default: core.remote)')
    .option('--force', 'delete even when a directory in scope has no manifest in the cache (with --cloud: nor on the remote); its files are not kept')
    .action(
      action<GcFlags>(async (ctx) => (ctx.opts.cloud ? (await import('../commands/cloud-gc.js')).cloudGc(ctx) : (await import('../commands/gc.js')).gc(ctx))),
    );

  program
    .command('fsck')
    .description('re-hash every cache object and report corrupt or truncated ones')
    .option('--remove', 'delete corrupt objects (fetch them again with mlo fetch)')
    .action(action<{ remove?: boolean }>(async (ctx) => (await import('../commands/fsck.js')).fsck(ctx)));

  program
    .command('version')
    .alias('doctor')
    .description('versions, platform, cache location and the link type that works here')
    .action(action(async (ctx) => (await import('../commands/doctor.js')).doctor(ctx)));
}
