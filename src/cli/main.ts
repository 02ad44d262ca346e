/**
 * The command-line entry point and the one place that turns errors into exit codes
 * (0 success, 1 failure, 2 usage error; see docs/commands.md#exit-codes).
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { EXIT, MloError } from '../core/errors.js';
import { register as registerData } from './areas/data.js';
import { register as registerRemote } from './areas/remote.js';
import { register as registerPipeline } from './areas/pipeline.js';
import { register as registerTracking } from './areas/tracking.js';
import { register as registerModel } from './areas/model.js';
import { register as registerMonitor } from './areas/monitor.js';
import { color } from './output.js';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('mlo')
    .description('git-native MLOps: version data and models, run pipelines, track experiments, serve ONNX models')
    .version(packageVersion(), '-V, --version')
    .option('--json', 'print machine-readable JSON on stdout')
    .option('-v, --verbose', 'more detail, and stack traces on errors')
    .option('-q, --quiet', 'no logs, warnings or progress: only results and errors')
    .option('-C, --cwd <dir>', 'run as if mlo was started in <dir>')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerData(program);
  registerRemote(program);
  registerPipeline(program);
  registerTracking(program);
  registerModel(program);
  registerMonitor(program);
  // Every subcommand reports usage errors through main() below, not by exiting itself.
  const override = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  const wantsJson = argv.includes('--json');
  const verbose = argv.includes('-v') || argv.includes('--verbose');
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = report(err, { json: wantsJson, verbose });
  }
}

function report(err: unknown, how: { json: boolean; verbose: boolean }): number {
  if (err instanceof CommanderError) {
    // Help and --version arrive here with exit code 0; commander already printed them.
    if (err.exitCode === 0) return EXIT.ok;
    if (how.json) printJsonError('MLO_USAGE', err.message.replace(/^error: /, ''));
    return EXIT.usage;
  }
  if (err instanceof MloError) {
    if (how.json) printJsonError(err.code, err.message, err.hint, err.meta?.result);
    else {
      process.stderr.write(`${color.red('error:')} ${err.message}\n`);
      if (err.hint) process.stderr.write(`${color.dim('hint:')} ${err.hint}\n`);
    }
    if (how.verbose && err.cause instanceof Error) process.stderr.write(`${err.cause.stack}\n`);
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  if (how.json) printJsonError('MLO_INTERNAL', e.message, 'run again with --verbose and report the stack trace');
  else {
    process.stderr.write(`${color.red('error:')} ${e.message}\n`);
    process.stderr.write(how.verbose ? `${e.stack}\n` : `${color.dim('hint:')} this is a bug in mlo; run again with --verbose for the stack trace\n`);
  }
  return EXIT.failure;
}

/** Under --json an error is one document: `{ error: { code, message, hint } }`, plus `result` when a command got part-way. */
function printJsonError(code: string, message: string, hint?: string, result?: unknown): void {
  const doc = result === undefined ? { error: { code, message, hint } } : { error: { code, message, hint }, result };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}
