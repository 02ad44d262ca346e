import { resolve } from 'node:path';
import { usageError } from '../../base/errors.js';
import { inspectModel, type InspectFeatures } from '../../core/model/inspect.js';
import { FEATURE_NAMES_KEY, type FeatureContract } from '../../core/model/contract.js';
import { formatSpec } from '../../core/model/onnx.js';
import { diffModels, listModels, promoteModel, registerModel, showModel, type Change } from '../../core/registry/registry.js';
import { commandRepo } from '../repo.js';
import type { ActionContext } from '../action.js';
import { formatBytes, pad, stdoutColor, table } from '../output.js';

export type ModelOpts = Record<string, never>;

export function inspect({ out, flags }: ActionContext<ModelOpts>, file: string): void {
  const r = inspectModel({ file: resolve(flags.cwd, file), display: file });
  out.result(r, () => [
    `${stdoutColor.bold(file)}  ${formatBytes(r.size)}  blake3:${r.hash.slice(0, 16)}`,
    `producer   ${[r.producerName, r.producerVersion].filter(Boolean).join(' ') || '(none)'}`,
    `ir         ${r.irVersion}   opsets ${r.opsets.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(', ')}`,
    `graph      ${r.graphName || '(unnamed)'}: ${r.nodes} nodes, ${r.initializers} initializers`,
    'inputs',
    ...r.inputs.map((i) => `  ${i.name}  ${formatSpec(i)}`),
    'outputs',
    ...r.outputs.map((o) => `  ${o.name}  ${formatSpec(o)}`),
    `features   ${inspectedFeatures(r.features)}`,
    ...(r.features.problem ? [`  problem: ${r.features.problem}`] : []),
    ...(Object.keys(r.metadata).length ? ['metadata', ...Object.entries(r.metadata).map(([k, v]) => `  ${k}: ${v}`)] : []),
  ]);
}

function inspectedFeatures(f: InspectFeatures): string {
  switch (f.source) {
    case 'metadata':
      return `${f.columns!.join(', ')} (from the model's metadata, ${FEATURE_NAMES_KEY})`;
    case 'columns':
      return `${f.columns!.join(', ')} (from --columns, recorded in ${f.file})`;
    case 'inputs':
      return 'one column per input, named after it (from the input names)';
    default:
      return `none named (no ${FEATURE_NAMES_KEY} in the model's metadata)`;
  }
}

export interface PackageOpts {
  name: string;
  example?: string;
  meta: string[];
  description?: string;
  columns?: string;
  out?: string;
  track: boolean;
}

export async function packageCmd({ out, flags, opts }: ActionContext<PackageOpts>, file: string): Promise<void> {
  const meta: Record<string, string> = {};
  for (const kv of opts.meta) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw usageError(`--meta '${kv}' is not KEY=VALUE`);
    meta[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const repo = commandRepo(flags, { optional: true });
  // onnxruntime loads only for the commands that run a model.
  const { packageModel } = await import('../../core/model/package.js');
  const r = await packageModel({
    cwd: flags.cwd,
    repo,
    file,
    name: opts.name,
    example: opts.example,
    meta,
    description: opts.description,
    columns: opts.columns
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    out: opts.out,
    track: opts.track,
  });
  out.result(r, () => [
    `Packaged ${stdoutColor.bold(r.name)} in ${r.dir}/ (${formatBytes(r.size)}, blake3:${r.hash.slice(0, 12)})`,
    `  inputs  ${r.signature.inputs.map(formatSpecNamed).join(', ')}`,
    `  outputs ${r.signature.outputs.map(formatSpecNamed).join(', ')}`,
    `  ${describeFeatures(r.features)}`,
    `  ran on ${r.example.synthesized ? 'an input made from the signature (give --example for a real one)' : 'the input example'}: ${Object.entries(
      r.example.outputs,
    )
      .map(([k, v]) => `${k} [${v.shape.join(', ')}]`)
      .join(', ')}`,
    r.lineage.git ? `  git ${r.lineage.git.commit?.slice(0, 10) ?? '(no commit)'}${r.lineage.git.dirty ? ' (uncommitted changes)' : ''}` : '  no git lineage',
    r.tracked ? `  tracked by mlo: ${r.tracked.pointerFile}` : '  not tracked by mlo',
    `Next: mlo model register ${r.dir}`,
  ]);
}

function describeFeatures(f: FeatureContract): string {
  switch (f.source) {
    case 'metadata':
      return `features ${f.columns!.join(', ')} (from the model's metadata)`;
    case 'columns':
      return `features ${f.columns!.join(', ')} (from --columns)`;
    case 'inputs':
      return 'features: one column per input, named after it';
    default:
      return 'features: none named; predict feeds numeric columns by position only when their count matches (give --columns to name them)';
  }
}

function formatSpecNamed(s: { name: string; type: string; shape?: (number | string | null)[] }): string {
  return `${s.name} ${formatSpec(s)}`;
}

export interface VerifyOpts {
  rtol: number;
  atol: number;
}

export async function verifyCmd({ out, flags, opts }: ActionContext<VerifyOpts>, ref: string): Promise<{ failed: boolean }> {
  const repo = commandRepo(flags, { optional: true });
  // onnxruntime loads only for the commands that run a model.
  const { resolveSource } = await import('../../core/serve/sources.js');
  const { formatDiff, mismatchError, verifyModel } = await import('../../core/model/verify.js');
  const m = await resolveSource(ref, { cwd: flags.cwd, repo });
  const label = m.version === null ? ref : `${m.name}@${m.version}`;
  const r = await verifyModel({ bytes: m.bytes, signature: m.signature, example: m.example, label, tolerance: { rtol: opts.rtol, atol: opts.atol } });
  if (!r.ok) {
    // Under --json the report is the result; otherwise one error line names what moved.
    if (flags.json) {
      out.result(r, () => undefined);
      return { failed: true };
    }
    throw mismatchError(r);
  }
  out.result(r, () => [
    `${stdoutColor.green('OK')} ${label} gives its recorded output for its recorded ${r.synthesized ? 'made-up input (package with --example for a real one)' : 'input example'} (rtol ${r.rtol}, atol ${r.atol})`,
    ...r.outputs.map((o) => `  ${o.name}: ${o.values} values, max abs difference ${o.maxAbsDiff === null ? 'n/a' : formatDiff(o.maxAbsDiff)}`),
  ]);
  return { failed: false };
}

export interface RegisterOpts {
  name?: string;
}

export async function registerCmd({ out, flags, opts }: ActionContext<RegisterOpts>, pkg: string): Promise<void> {
  const repo = commandRepo(flags);
  const r = await registerModel(repo, { cwd: flags.cwd, package: pkg, name: opts.name });
  out.result(r, () =>
    r.created
      ? [
          `Registered ${stdoutColor.bold(`${r.name}@${r.version}`)} (${r.file})`,
          `Next: git add registry/ && git commit; mlo model promote ${r.name}@${r.version} --to production --reason "..."`,
        ]
      : `${r.name}@${r.version} already holds this model (blake3:${r.hash.slice(0, 12)}); nothing registered`,
  );
}

export function list({ out, flags }: ActionContext<ModelOpts>): void {
  const repo = commandRepo(flags);
  const models = listModels(repo);
  for (const m of models) {
    for (const a of m.danglingAliases) {
      out.warn(
        `registry/${m.name}/aliases.yaml: ${a} names version ${m.aliases[a]}, which does not exist; promote a version to it again (mlo model promote ${m.name}@N --to ${a})`,
      );
    }
  }
  out.result({ models }, () =>
    models.length === 0
      ? 'No registered models. Register one with `mlo model register models/NAME`.'
      : table(
          ['NAME', 'VERSIONS', 'LATEST', 'ALIASES', 'REGISTERED'],
          models.map((m) => [
            m.name,
            String(m.versions),
            String(m.latest),
            Object.entries(m.aliases)
              .map(([a, v]) => `${a}=${v}`)
              .join(' ') || '-',
            m.registered.slice(0, 19).replace('T', ' '),
          ]),
        ),
  );
}

export function show({ out, flags }: ActionContext<ModelOpts>, ref: string): void {
  const repo = commandRepo(flags);
  const v = showModel(repo, ref);
  out.result(v, () => {
    const lines = [
      `${stdoutColor.bold(`${v.name}@${v.version}`)}${v.aliases.length ? `  (${v.aliases.join(', ')})` : ''}   versions: ${v.versions.join(', ')}`,
      `registered ${v.registered} by ${v.by ?? 'unknown'}`,
      `model      ${v.model.path}  ${formatBytes(v.model.size)}  blake3:${v.model.hash.slice(0, 16)}  ir ${v.model.ir_version}${v.model.producer ? `  ${v.model.producer}` : ''}`,
      `inputs     ${v.signature.inputs.map(formatSpecNamed).join(', ')}`,
      `outputs    ${v.signature.outputs.map(formatSpecNamed).join(', ')}`,
    ];
    if (v.signature.columns) lines.push(`features   ${v.signature.columns.join(', ')}`);
    if (v.example?.outputs)
      lines.push(
        `example    ${v.example.synthesized ? 'made up from the signature' : 'given at package time'}, with its output (mlo model verify ${v.name}@${v.version})`,
      );
    if (v.lineage.git) lines.push(`git        ${v.lineage.git.commit ?? '(no commit)'}${v.lineage.git.dirty ? ' (dirty)' : ''}`);
    if (v.lineage.metrics)
      lines.push(
        `metrics    ${Object.entries(v.lineage.metrics)
          .map(([k, x]) => `${k}=${x}`)
          .join('  ')}`,
      );
    if (v.lineage.params)
      lines.push(
        `params     ${Object.entries(v.lineage.params)
          .map(([k, x]) => `${k}=${JSON.stringify(x)}`)
          .join('  ')}`,
      );
    if (v.lineage.data) lines.push(...v.lineage.data.map((d) => `data       ${d.path}  ${d.hash.slice(0, 12)}`));
    if (v.card.description) lines.push(`about      ${v.card.description}`);
    for (const [k, x] of Object.entries(v.card.meta)) lines.push(`${pad(k, 10)} ${x}`);
    for (const h of v.history)
      lines.push(stdoutColor.dim(`${h.ts}  ${h.action}${h.alias ? ` -> ${h.alias}` : ''}  by ${h.by ?? 'unknown'}${h.reason ? `: ${h.reason}` : ''}`));
    return lines;
  });
}

export function diff({ out, flags }: ActionContext<ModelOpts>, a: string, b: string): void {
  const repo = commandRepo(flags);
  const d = diffModels(repo, a, b);
  const fmt = (v: unknown) => (v === undefined ? '-' : typeof v === 'string' ? v : JSON.stringify(v));
  const section = (title: string, changes: Change[]) =>
    changes.length === 0
      ? [`${title}: no changes`]
      : [
          `${title}:`,
          ...table(
            ['', 'KEY', `${d.a.name}@${d.a.version}`, `${d.b.name}@${d.b.version}`, 'CHANGE'],
            changes.map((c) => [
              c.change === 'added' ? stdoutColor.green('+') : c.change === 'removed' ? stdoutColor.red('-') : stdoutColor.yellow('~'),
              c.key,
              fmt(c.a),
              fmt(c.b),
              c.delta !== undefined ? `${c.delta >= 0 ? '+' : ''}${Number(c.delta.toPrecision(6))}` : c.change,
            ]),
          ).map((l) => `  ${l}`),
        ];
  out.result(d, () => [
    `model: ${d.model.same ? 'same file' : `${d.model.a.hash.slice(0, 12)} (${formatBytes(d.model.a.size)}) -> ${d.model.b.hash.slice(0, 12)} (${formatBytes(d.model.b.size)})`}`,
    ...section('signature', d.signature),
    ...section('metrics', d.metrics),
    ...section('params', d.params),
    ...section('data', d.data),
  ]);
}

export interface PromoteOpts {
  to: string;
  reason?: string;
}

export async function promote({ out, flags, opts }: ActionContext<PromoteOpts>, ref: string): Promise<void> {
  const repo = commandRepo(flags);
  const r = await promoteModel(repo, { ref, to: opts.to, reason: opts.reason });
  out.result(
    r,
    () =>
      `${r.name}@${r.alias} -> version ${r.version}${r.previous !== null && r.previous !== r.version ? ` (was ${r.previous})` : ''}; recorded in registry/${r.name}/audit.jsonl`,
  );
}
