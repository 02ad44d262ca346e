/**
 * The command-line entry point and the one place that turns errors into exit codes
 * (0 success, 1 failure, 2 usage error, 130 interrupted; see docs/commands.md#exit-codes).
 */
import { Command, CommanderError } from './commander.js';
import { readFileSync } from 'node:fs';
import { EXIT, explainOsError, MloError, type ErrorCode } from '../base/errors.js';
import { stderrColor } from './output.js';
import { takeOutcomeExitCode } from './action.js';
import { writeStdout } from './stdout.js';

type Area = 'data' | 'remote' | 'pipeline' | 'tracking' | 'model' | 'monitor';
const AREAS: readonly Area[] = ['data', 'remote', 'pipeline', 'tracking', 'model', 'monitor'];

/**
 * The area that defines each top-level command (and alias), so running one command loads and
 * registers only its own area (~5 ms of start-up); help and unknown commands get all of them.
 * main.test.ts checks this table against what the areas register.
 */
export const COMMAND_AREA: Record<string, Area> = {
  init: 'data',
  add: 'data',
  commit: 'data',
  status: 'data',
  checkout: 'data',
  diff: 'data',
  list: 'data',
  ls: 'data',
  gc: 'data',
  fsck: 'data',
  version: 'data',
  doctor: 'data',
  remote: 'remote',
  push: 'remote',
  fetch: 'remote',
  pull: 'remote',
  stage: 'pipeline',
  run: 'pipeline',
  repro: 'pipeline',
  dag: 'pipeline',
  exp: 'tracking',
  experiments: 'tracking',
  queue: 'tracking',
  log: 'tracking',
  metrics: 'tracking',
  params: 'tracking',
  plots: 'tracking',
  ui: 'tracking',
  model: 'model',
  serve: 'model',
  predict: 'model',
  schema: 'monitor',
  validate: 'monitor',
  monitor: 'monitor',
  ci: 'monitor',
};

/** The command word in argv (after node and the script), skipping global flags and -C's value. */
export function commandWord(argv: string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-C' || args[i] === '--cwd') i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return undefined;
}

async function loadAreas(areas: readonly Area[]): Promise<((program: Command) => void)[]> {
  return Promise.all(areas.map(async (a) => ((await import(`./areas/${a}.js`)) as { register: (program: Command) => void }).register));
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The whole CLI, or only the area of `onlyCommand` when it names a known command. */
export async function buildProgram(onlyCommand?: string): Promise<Command> {
  const area = onlyCommand === undefined ? undefined : COMMAND_AREA[onlyCommand];
  const registers = await loadAreas(area ? [area] : AREAS);
  const program = new Command('mlo')
    .description('git-native MLOps: version data and models, run pipelines, track experiments, serve ONNX models')
    .version(packageVersion(), '-V, --version')
    .option('--json', 'print machine-readable JSON on stdout')
    .option('-v, --verbose', 'more detail, and stack traces on errors')
    .option('-q, --quiet', 'no logs, warnings or progress: only results and errors')
    .option('-C, --cwd <dir>', 'run as if mlo was started in <dir>')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of registers) register(program);
  // Every subcommand reports usage errors through main() below, not by exiting itself.
  const override = (cmd: Command) => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = await buildProgram(commandWord(argv));
  // Words after `--` are a stage's command (`mlo stage add -n s -- tool --json`), not mlo's flags.
  const end = argv.indexOf('--');
  const ours = end < 0 ? argv : argv.slice(0, end);
  const wantsJson = ours.includes('--json');
  const verbose = ours.includes('-v') || ours.includes('--verbose');
  // Under --json a usage error is the one JSON document on stdout (report below), not also text on stderr.
  if (wantsJson) {
    const quiet = (cmd: Command) => {
      cmd.configureOutput({ outputError: () => {}, writeErr: () => {} });
      cmd.commands.forEach(quiet);
    };
    quiet(program);
  }
  let exitCode: number;
  try {
    await program.parseAsync(argv);
    exitCode = takeOutcomeExitCode();
  } catch (err) {
    exitCode = report(err, { json: wantsJson, verbose });
  }
  process.exitCode = exitCode;
}

function report(thrown: unknown, how: { json: boolean; verbose: boolean }): number {
  // A system error the user caused (a port in use, a full disk) is theirs to fix, not a bug in mlo.
  const err = explainOsError(thrown) ?? thrown;
  if (err instanceof CommanderError) {
    // Help and --version arrive here with exit code 0; commander already printed them.
    if (err.exitCode === 0) return EXIT.ok;
    if (how.json) printJsonError('MLO_USAGE', err.message.replace(/^error: /, ''), 'run with --help for usage');
    return EXIT.usage;
  }
  if (err instanceof MloError) {
    if (how.json) printJsonError(err.code, err.message, err.hint, err.meta?.result);
    else {
      process.stderr.write(`${stderrColor.red('error:')} ${err.message}\n`);
      if (err.hint) process.stderr.write(`${stderrColor.dim('hint:')} ${err.hint}\n`);
    }
    if (how.verbose && err.cause instanceof Error) process.stderr.write(`${err.cause.stack}\n`);
    return err.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  if (how.json) printJsonError('MLO_INTERNAL', e.message, 'run again with --verbose and report the stack trace');
  else {
    process.stderr.write(`${stderrColor.red('error:')} ${e.message}\n`);
    process.stderr.write(how.verbose ? `${e.stack}\n` : `${stderrColor.dim('hint:')} this is a bug in mlo; run again with --verbose for the stack trace\n`);
  }
  return EXIT.failure;
}

/** Under --json an error is one document: `{ error: { code, message, hint } }`, plus `result` when a command got part-way. */
function printJsonError(code: ErrorCode, message: string, hint?: string, result?: unknown): void {
  const doc = result === undefined ? { error: { code, message, hint } } : { error: { code, message, hint }, result };
  writeStdout(`${JSON.stringify(doc, null, 2)}\n`);
}
