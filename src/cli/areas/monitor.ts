import type { Command } from '../commander.js';
import { action } from '../action.js';
import { enumListOption, intOption, numberOption } from '../options.js';
import type { SchemaInferFlags } from '../commands/schema.js';
import type { ValidateFlags } from '../commands/validate.js';
import type { DriftFlags, StatusFlags } from '../commands/monitor.js';
import type { CiReportFlags } from '../commands/ci.js';
import { FAIL_ON } from '../../core/ci/types.js';

/** Parses a comma-separated list flag. */
function listArg(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const FORMAT_HELP = 'csv, tsv, jsonl or servelog (default: by extension and content)';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Data validation and monitoring: schema infer, validate, monitor drift, monitor status, ci report. */
export function register(program: Command): void {
  const schema = program.command('schema').description('describe data: infer a schema file from a data file');
  schema
    .command('infer')
    .description('draft a schema (types, nulls, ranges, categories, uniqueness) from a CSV or JSON lines file')
    .argument('<data>', 'data file (CSV, TSV, JSON lines or serve log)')
    .option('-o, --output <file>', 'write the schema here (default: print it)')
    .option('--format <format>', FORMAT_HELP)
    .option('--model <name>', 'serve logs: only this model')
    .option('--strict', 'exact observed ranges and no unseen categories (default: ranges widened so other samples of the data pass)')
    .option('--max-categories <n>', 'string columns with at most n distinct values get categories', intOption('--max-categories', { min: 0 }), 20)
    .action(action<SchemaInferFlags, [string]>(async (ctx, data) => (await import('../commands/schema.js')).schemaInfer(ctx, data)));

  program
    .command('validate')
    .description('check a data file against a schema; exit 1 when any rule fails')
    .argument('<data>', 'data file (CSV, TSV, JSON lines or serve log)')
    .requiredOption('--schema <file>', 'schema file (YAML, see mlo schema infer)')
    .option('--format <format>', FORMAT_HELP)
    .option('--model <name>', 'serve logs: only this model')
    .option('--max-examples <n>', 'example rows shown per failed rule', intOption('--max-examples', { min: 0 }), 5)
    .action(action<ValidateFlags, [string]>(async (ctx, data) => (await import('../commands/validate.js')).validate(ctx, data)));

  const monitor = program.command('monitor').description('watch models in production: data drift and serving health');
  monitor
    .command('drift')
    .description('compare current data (CSV, JSON lines or a serve log) with a reference; exit 1 on drift')
    .requiredOption('--reference <file>', 'reference data, usually the training set')
    .requiredOption('--current <file>', 'current data: CSV, JSON lines, or a serve log')
    .option('--reference-format <format>', FORMAT_HELP)
    .option('--current-format <format>', FORMAT_HELP)
    .option('--model <name>', 'serve logs: only this model')
    .option('--tests <list>', 'tests that can flag drift: psi,ks (numeric) chi2,js (categorical) (default: all four)', listArg)
    .option('--psi-threshold <x>', 'PSI at or above this is drift', numberOption('--psi-threshold', { min: 0, exclusive: true }), 0.2)
    .option('--psi-bins <n>', 'PSI bins: quantiles of the reference', intOption('--psi-bins', { min: 2 }), 10)
    .option('--ks-p <p>', 'KS p-value below this is drift', numberOption('--ks-p', { min: 0, max: 1, exclusive: true }), 0.05)
    .option('--chi2-p <p>', 'chi-square p-value below this is drift', numberOption('--chi2-p', { min: 0, max: 1, exclusive: true }), 0.05)
    .option('--js-threshold <x>', 'Jensen-Shannon distance (natural log) at or above this is drift', numberOption('--js-threshold', { min: 0, max: 1 }), 0.1)
    .option(
      '--drift-share <x>',
      'the data set drifts when at least this share of columns drift (default: any column)',
      numberOption('--drift-share', { min: 0, max: 1 }),
    )
    .option('--columns <list>', 'compare only these columns (comma-separated)', listArg)
    .option('--exclude <list>', 'leave these columns out (comma-separated)', listArg)
    .option('--categorical <list>', 'treat these columns as categorical', listArg)
    .option('--numeric <list>', 'treat these columns as numeric', listArg)
    .option(
      '--max-numeric-categories <n>',
      'numeric columns with at most n distinct values are compared as categories',
      intOption('--max-numeric-categories', { min: 0 }),
      5,
    )
    .option('--html <file>', 'also write a self-contained HTML report')
    .action(action<DriftFlags>(async (ctx) => (await import('../commands/monitor.js')).monitorDrift(ctx)));

  monitor
    .command('status')
    .description('requests, error rate, latency and model age from a serve log; exit 1 if stale or failing')
    .requiredOption('--log <file>', 'serve log (JSON lines written by mlo serve)')
    .option('--model <name>', 'only this model')
    .option('--max-age <duration>', 'the current version is stale after this long (s, m, h, d, w)', '30d')
    .option('--max-error-rate <x>', 'highest acceptable share of requests with status >= 400', numberOption('--max-error-rate', { min: 0, max: 1 }), 0.05)
    .option('--since <date>', 'when the current version went live (default: its oldest request in the log)')
    .option('--window <duration>', 'count requests, errors and latency over this trailing period only')
    .option('--now <date>', 'evaluate as of this time (default: now)')
    .action(action<StatusFlags>(async (ctx) => (await import('../commands/monitor.js')).monitorStatus(ctx)));

  const ci = program.command('ci').description('continuous integration: reports for pull requests');
  ci.command('report')
    .description('Markdown for a pull-request comment: metrics and params diff against a base, validation, drift, changed stages')
    .option('--base <rev>', 'branch, tag or commit to compare the workspace with', 'main')
    .option('-o, --out <file>', 'write the Markdown to this file instead of stdout')
    .option('--validate <data=schema>', 'validate a data file against a schema (repeatable)', collect)
    .option('--drift <reference=current>', 'compare current data with reference data, default thresholds (repeatable)', collect)
    .option('--plots-url <url>', 'add a link to the plots (for example the CI artifact of mlo plots diff)')
    .option(
      '--gate <metric=better[:threshold]>',
      "a metric gate, as in mlo.yaml gates: (e.g. acc=higher:0.01, loss=lower:2%); replaces mlo.yaml's gate of that metric (repeatable)",
      collect,
    )
    .option(
      '--fail-on <sections>',
      `exit 1 when one of these sections fails: ${FAIL_ON.join(', ')} (repeatable or comma-separated; default: always exit 0)`,
      enumListOption('--fail-on', FAIL_ON),
    )
    .action(action<CiReportFlags>(async (ctx) => (await import('../commands/ci.js')).ciReportCmd(ctx)));
}
