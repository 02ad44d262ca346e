import type { Command } from 'commander';

/** Registers this area's commands. Command bodies import core modules lazily to keep start-up fast. */
export function register(_program: Command): void {}
