import { Option, type Command } from '../commander.js';
import { action } from '../action.js';
import { intOption, numberOption, portOption } from '../options.js';
import type { ModelOpts, PackageOpts, PromoteOpts, RegisterOpts, VerifyOpts } from '../commands/model.js';
import type { ServeOpts } from '../commands/serve.js';
import type { PredictOpts } from '../commands/predict.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The model lifecycle: inspect, package, register, promote, serve and batch-predict ONNX models. */
export function register(program: Command): void {
  const model = program.command('model').description('inspect, package and register ONNX models (docs/models.md)');

  model
    .command('inspect <file>')
    .description("show an ONNX model's inputs, outputs, opsets, producer, size and hash without running it")
    .action(action<ModelOpts, [string]>(async (ctx, file) => (await import('../commands/model.js')).inspect(ctx, file)));

  model
    .command('package <file>')
    .description('check that a model loads and runs, and write models/NAME/ with the model and model.yaml')
    .requiredOption('--name <name>', 'model name (lowercase letters, digits, . _ -)')
    .option('--example <file>', 'input example, recorded with its output: JSON ({"input": [[...]]} or an /invocations body) or a CSV with a header row')
    .option('--meta <key=value>', 'model-card field (repeatable)', collect, [])
    .option('--description <text>', 'model-card description')
    .option('--columns <names>', "feature columns, in order, for a single 2-D input (refused when the model's metadata names others)")
    .option('-o, --out <dir>', 'package folder (default: models/NAME)')
    .option('--no-track', 'do not track the packaged model file with mlo')
    .action(action<PackageOpts, [string]>(async (ctx, file) => (await import('../commands/model.js')).packageCmd(ctx, file)));

  model
    .command('verify <ref>')
    .description('run the recorded input example again and check the output did not move: NAME@VERSION, NAME@ALIAS or a package folder')
    .option('--rtol <x>', 'relative tolerance', numberOption('--rtol', { min: 0 }), 1e-5)
    .option('--atol <x>', 'absolute tolerance', numberOption('--atol', { min: 0 }), 1e-6)
    .action(action<VerifyOpts, [string]>(async (ctx, ref) => (await import('../commands/model.js')).verifyCmd(ctx, ref)));

  model
    .command('register <package>')
    .description('add a packaged model to the registry as its next version')
    .option('--name <name>', 'register under this name instead of the package name')
    .action(action<RegisterOpts, [string]>(async (ctx, pkg) => (await import('../commands/model.js')).registerCmd(ctx, pkg)));

  model
    .command('list')
    .description('registered models with their latest version and aliases')
    .action(action<ModelOpts>(async (ctx) => (await import('../commands/model.js')).list(ctx)));

  model
    .command('show <ref>')
    .description('one version: NAME (latest), NAME@VERSION or NAME@ALIAS')
    .action(action<ModelOpts, [string]>(async (ctx, ref) => (await import('../commands/model.js')).show(ctx, ref)));

  model
    .command('diff <a> <b>')
    .description('compare two versions: signature, metrics, params and data')
    .action(action<ModelOpts, [string, string]>(async (ctx, a, b) => (await import('../commands/model.js')).diff(ctx, a, b)));

  model
    .command('promote <ref>')
    .description('point an alias (production, staging...) at a version; recorded in the audit log')
    .requiredOption('--to <alias>', 'alias to set')
    .option('--reason <text>', 'why, for the audit log')
    .action(action<PromoteOpts, [string]>(async (ctx, ref) => (await import('../commands/model.js')).promote(ctx, ref)));

  program
    .command('serve [models...]')
    .description('serve models over HTTP: Open Inference Protocol v2 and MLflow /invocations')
    .option('-p, --port <port>', 'port (0 picks a free one)', portOption('--port'), 8080)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--split <spec>', 'traffic split between versions, e.g. churn@1=90,churn@2=10')
    .addOption(new Option('--token <token>', 'require Authorization: Bearer <token>').env('MLO_SERVE_TOKEN'))
    .option('--max-body <bytes>', 'largest request body accepted', intOption('--max-body', { min: 1 }), 10 * 1024 * 1024)
    .option('--max-connections <n>', 'most open connections; more are closed at once', intOption('--max-connections', { min: 1 }), 1024)
    .option('--max-batch <rows>', 'most rows per micro-batch', intOption('--max-batch', { min: 1 }), 64)
    .option('--log <file>', 'append sampled requests and predictions as JSON lines')
    .option('--log-sample <fraction>', 'fraction of requests to log (0-1)', numberOption('--log-sample', { min: 0, max: 1 }), 1)
    .option('--no-watch', 'do not reload when a served alias moves')
    .option('--no-verify', 'start without checking each model against its recorded input example')
    .option('--rtol <x>', 'relative tolerance of the start-up check', numberOption('--rtol', { min: 0 }), 1e-5)
    .option('--atol <x>', 'absolute tolerance of the start-up check', numberOption('--atol', { min: 0 }), 1e-6)
    .action(action<ServeOpts, [string[]]>(async (ctx, models) => (await import('../commands/serve.js')).serve(ctx, models)));

  program
    .command('predict <model>')
    .description('batch predictions for a CSV/TSV/JSON-lines file, streamed')
    .requiredOption('-i, --input <file>', 'input table (.csv, .tsv, .jsonl)')
    .requiredOption('-o, --output <file>', 'predictions (.csv, or .jsonl)')
    .option('-b, --batch-size <rows>', 'rows per onnxruntime run', intOption('--batch-size', { min: 1 }), 1024)
    .option('--columns <names>', 'feature columns, in order, for a single 2-D input')
    .action(action<PredictOpts, [string]>(async (ctx, m) => (await import('../commands/predict.js')).predict(ctx, m)));
}
