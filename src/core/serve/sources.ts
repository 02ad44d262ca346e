/**
 * What `mlo serve` serves: each argument is a model file, a package folder, or a registry reference
 * (NAME, NAME@VERSION, NAME@ALIAS). `--split` groups several versions of one name behind one endpoint.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { MloError, usageError } from '../../base/errors.js';
import type { Signature } from '../model/codec.js';
import { resolveContract } from '../model/contract.js';
import { inspectBytes, readModelFile } from '../model/inspect.js';
import type { ModelRef } from '../registry/registry.js';
import type { ModelExample } from '../model/schema.js';
import type { Repo } from '../repo/repo.js';

export interface ResolvedModel {
  /** The endpoint name (/v2/models/{name}). */
  name: string;
  /** Registry version, or null for a model served from a path. */
  version: number | null;
  /** Set when the version may move (an alias, or a bare name meaning the latest version). */
  moving?: ModelRef;
  /** What the user asked for, for messages. */
  ref: string;
  bytes: Uint8Array;
  hash: string;
  signature: Signature;
  /** The recorded input example and its outputs (packages and registry versions; not bare .onnx files). */
  example?: ModelExample;
}

export interface SplitEntry {
  ref: string;
  weight: number;
}

function sanitize(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '') || 'model'
  );
}

/**
 * Resolves one argument. The schema and registry modules (zod, yaml, git) load only when the argument
 * needs them, so `mlo predict model.onnx` starts as fast as it can.
 */
export async function resolveSource(arg: string, ctx: { cwd: string; repo?: Repo }): Promise<ResolvedModel> {
  const path = resolve(ctx.cwd, arg);
  if (existsSync(path)) {
    if (statSync(path).isDirectory()) {
      const { MODEL_YAML, readPackage } = await import('../model/schema.js');
      const pkg = readPackage(path, arg);
      const bytes = readModelFile(join(path, pkg.model.path), join(arg, pkg.model.path));
      const info = inspectBytes(bytes, arg);
      if (info.hash !== pkg.model.hash) {
        throw new MloError(
          'MLO_PACKAGE_CHANGED',
          `${join(arg, pkg.model.path)} is not the file ${join(arg, MODEL_YAML)} describes (hash ${info.hash.slice(0, 12)}, expected ${pkg.model.hash.slice(0, 12)})`,
          {
            hint: 'package the model again with `mlo model package`, or `mlo checkout` the packaged file',
          },
        );
      }
      return { name: pkg.name, version: null, ref: arg, bytes, hash: info.hash, signature: { ...pkg.signature }, example: pkg.example };
    }
    const bytes = readModelFile(path, arg);
    const info = inspectBytes(bytes, arg);
    // A bare model file has no model.yaml: its contract comes from its own metadata, if it names features.
    const { columns } = resolveContract(info, { label: arg });
    return {
      name: sanitize(basename(path).replace(/\.onnx$/i, '')),
      version: null,
      ref: arg,
      bytes,
      hash: info.hash,
      signature: { inputs: info.inputs, outputs: info.outputs, ...(columns ? { columns } : {}) },
    };
  }
  if (!ctx.repo) {
    throw new MloError('MLO_NOT_FOUND', `'${arg}' is not a file, and there is no mlo repository here to look it up in the registry`, {
      hint: 'give the path of an .onnx file or package folder, or run inside the repository',
    });
  }
  const { parseRef } = await import('../registry/registry.js');
  let ref: ModelRef;
  try {
    ref = parseRef(arg);
  } catch {
    throw new MloError('MLO_NOT_FOUND', `'${arg}' is neither a file nor a model reference`, { hint: 'give a path, NAME, NAME@VERSION or NAME@ALIAS' });
  }
  return resolveRegistered(ctx.repo, ref, arg);
}

export async function resolveRegistered(repo: Repo, ref: ModelRef, display: string): Promise<ResolvedModel> {
  const { locateModel, readVersion, resolveVersion } = await import('../registry/registry.js');
  const { version } = resolveVersion(repo, ref);
  const v = readVersion(repo, ref.name, version);
  const { bytes } = locateModel(repo, v);
  const moving = ref.selector === undefined || !/^\d+$/.test(ref.selector) ? ref : undefined;
  return { name: ref.name, version, moving, ref: display, bytes, hash: v.model.hash, signature: v.signature, example: v.example };
}

/** `churn@1=90,churn@2=10` -> entries; weights are positive integers. */
export function parseSplit(spec: string): Map<string, SplitEntry[]> {
  const groups = new Map<string, SplitEntry[]>();
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([^=]+)=(\d+)$/.exec(part);
    if (!m || Number(m[2]) <= 0) throw usageError(`--split: '${part}' is not REF=WEIGHT`, 'e.g. --split churn@1=90,churn@2=10');
    const ref = m[1].trim();
    const name = ref.split('@')[0];
    const list = groups.get(name) ?? [];
    list.push({ ref, weight: Number(m[2]) });
    groups.set(name, list);
  }
  if (groups.size === 0) throw usageError('--split needs at least one REF=WEIGHT');
  return groups;
}
