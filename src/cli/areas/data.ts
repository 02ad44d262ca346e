import type { Command } from 'commander';
import { action } from '../action.js';

/** Data versioning: init, add, status, commit, checkout, diff, list, gc, fsck, version/doctor. */
export function register(program: Command): void {
  program
    .command('init')
    .description('create .mlo/ in this folder (inside a git work tree unless --no-scm)')
    .option('--no-scm', 'use mlo without git')
    .action(action<{ scm: boolean }>(async (ctx) => (await import('../commands/init.js')).init(ctx)));
}
