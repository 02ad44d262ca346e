import type { Command } from '../commander.js';
import { action } from '../action.js';
import { intOption } from '../options.js';
import type { SyncFlags } from '../options.js';

function withSyncFlags(cmd: Command): Command {
  return cmd
    .option('-r, --remote <name>', 'remote to use (default: core.remote, or the only one)')
    .option('-j, --jobs <n>', 'concurrent requests (default 32 for S3, 8 for folders)', intOption('--jobs', { min: 1 }))
    .option('-a, --all-branches', 'also what every branch tracks')
    .option('-T, --all-tags', 'also what every tag tracks')
    .option('-A, --all-commits', 'also what every commit tracks')
    .option('--rev <revs...>', 'also what these revisions track');
}

/** Remotes and transfers: remote, push, fetch, pull. Command bodies load core (and the AWS SDK) lazily. */
export function register(program: Command): void {
  const remote = program.command('remote').description('manage remotes (S3 buckets, S3-compatible stores, folders)');

  remote
    .command('add')
    .description('add a remote: s3://BUCKET/PREFIX, a folder path, or file:///PATH')
    .argument('<name>', 'remote name')
    .argument('<url>', 'where the objects go')
    .option('-d, --default', 'make it the default remote')
    .option('-f, --force', 'replace an existing remote of that name')
    .option('--local', 'write to .mlo/config.local.yaml (git-ignored) instead of .mlo/config.yaml')
    .action(
      action<{ default?: boolean; force?: boolean; local?: boolean }, [string, string]>(async (ctx, name, url) =>
        (await import('../commands/remote.js')).add(ctx, name, url),
      ),
    );

  remote
    .command('list')
    .alias('ls')
    .description('configured remotes')
    .action(action(async (ctx) => (await import('../commands/remote.js')).list(ctx)));

  remote
    .command('remove')
    .alias('rm')
    .description('remove a remote from both config files (nothing on the remote is deleted)')
    .argument('<name>', 'remote name')
    .action(action<object, [string]>(async (ctx, name) => (await import('../commands/remote.js')).remove(ctx, name)));

  remote
    .command('modify')
    .description(
      'set a remote setting: url, endpoint, region, profile, path_style, jobs, retries, timeout, or (with --local) access_key_id, secret_access_key, session_token',
    )
    .argument('<name>', 'remote name')
    .argument('<key>', 'setting')
    .argument('[value]', 'new value')
    .option('--local', 'write to .mlo/config.local.yaml (git-ignored); required for credentials')
    .option('-u, --unset', 'remove the setting')
    .action(
      action<{ local?: boolean; unset?: boolean }, [string, string, string | undefined]>(async (ctx, name, key, value) =>
        (await import('../commands/remote.js')).modify(ctx, name, key, value),
      ),
    );

  remote
    .command('default')
    .description('show or set the default remote')
    .argument('[name]', 'remote to make the default')
    .option('-u, --unset', 'clear the default')
    .option('--local', 'in .mlo/config.local.yaml (this machine only)')
    .action(
      action<{ unset?: boolean; local?: boolean }, [string | undefined]>(async (ctx, name) => (await import('../commands/remote.js')).setDefault(ctx, name)),
    );

  withSyncFlags(
    program
      .command('push')
      .description('upload the cache objects the remote lacks (verified before upload; resumable)')
      .argument('[targets...]', 'tracked paths (default: all)'),
  )
    .option('--run-cache', 'also push the run cache: every entry whose outputs are in the cache, and those outputs')
    .option('--verify', 'ask the remote about every object (ignoring .mlo/tmp/remote-index) and upload what it lacks')
    .action(action<SyncFlags, [string[]]>(async (ctx, targets) => (await import('../commands/push.js')).push(ctx, targets)));

  withSyncFlags(
    program
      .command('fetch')
      .description('download the objects the cache lacks (each re-hashed before it enters the cache)')
      .argument('[targets...]', 'tracked paths, or paths inside a tracked directory (default: all)'),
  )
    .option('--run-cache', "also fetch the remote's run cache: its entries and the outputs they name")
    .action(action<SyncFlags, [string[]]>(async (ctx, targets) => (await import('../commands/fetch.js')).fetch(ctx, targets)));

  withSyncFlags(
    program
      .command('pull')
      .description('fetch, then check out: make the workspace match the pointers with data from the remote')
      .argument('[targets...]', 'tracked paths, or paths inside a tracked directory (default: all)'),
  )
    .option('-f, --force', 'overwrite or delete workspace changes that are not in the cache')
    .option('--run-cache', "also fetch the remote's run cache, so `mlo run` restores runs made elsewhere")
    .action(action<SyncFlags & { force?: boolean }, [string[]]>(async (ctx, targets) => (await import('../commands/pull.js')).pull(ctx, targets)));
}
