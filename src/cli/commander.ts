/**
 * commander, loaded with require(). Importing it as an ES module goes through its wrapper, which makes
 * Node lex the CommonJS file for export names: measured ~4 ms of every command's start-up.
 */
import { createRequire } from 'node:module';
import type * as Commander from 'commander';

const commander = createRequire(import.meta.url)('commander') as typeof Commander;

export const Command = commander.Command;
export type Command = Commander.Command;
export const CommanderError = commander.CommanderError;
export type CommanderError = Commander.CommanderError;
export const InvalidArgumentError = commander.InvalidArgumentError;
export const Option = commander.Option;
