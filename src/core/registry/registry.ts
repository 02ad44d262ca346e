/**
 * The model registry, kept as plain files in the repository so it is committed, reviewed and diffed like
 * code:
 *
 *   registry/NAME/versions/N.yaml   one file per version: the package's model.yaml plus who, when, where
 *   registry/NAME/aliases.yaml      alias -> version (production, staging, ...)
 *   registry/NAME/audit.jsonl       append-only log of registrations and alias moves: who, when, why
 *
 * Version numbers are allocated under the repository lock; every write is atomic (temp file + rename).
 *
 * One module: it is the only reader and writer of this file layout, so the schemas, paths and locking of the registry stay in one place.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { MloError } from '../../base/errors.js';
import { toPosix, writeFileAtomic } from '../../base/fs.js';
import { gitUser, workState } from '../../base/git.js';
import { withRepoLock } from '../repo/lock.js';
import { hashBytes } from '../data/hash/blake3.js';
import { objectPath } from '../data/cache/objects.js';
import type { Repo } from '../repo/repo.js';
import { readYamlFile } from '../../base/yamlfile.js';
import {
  cardSchema,
  exampleSchema,
  lineageSchema,
  modelFileSchema,
  modelNameSchema,
  signatureSchema,
  MODEL_NAME_RE,
  readPackage,
  toYaml,
} from '../model/schema.js';

export const REGISTRY_DIR = 'registry';
const ALIAS_RE = /^[a-z][a-z0-9_-]{0,31}$/;

export const versionSchema = z
  .object({
    schema: z.literal(1),
    name: modelNameSchema,
    version: z.number().int().positive(),
    registered: z.string(),
    by: z.string().nullable(),
    /** The package folder, relative to the repository root. */
    package: z.string(),
    /** The commit HEAD pointed at when the version was registered. */
    git: z.object({ commit: z.string().nullable(), dirty: z.boolean() }).strict().optional(),
    /** model.path is relative to the repository root; the blob is also in the cache under model.hash. */
    model: modelFileSchema,
    signature: signatureSchema,
    lineage: lineageSchema.default({}),
    card: cardSchema.default({}),
    example: exampleSchema.optional(),
    created: z.string().optional(),
  })
  .strict();

export type ModelVersion = z.infer<typeof versionSchema>;

export const aliasesSchema = z
  .object({
    schema: z.literal(1),
    aliases: z.record(z.string(), z.number().int().positive()).default({}),
  })
  .strict();

export interface AuditEntry {
  ts: string;
  action: 'register' | 'promote';
  version: number;
  alias?: string;
  previous?: number | null;
  by: string | null;
  reason?: string | null;
  hash?: string;
}

export function registryDir(repo: Repo, name?: string): string {
  return name ? join(repo.root, REGISTRY_DIR, name) : join(repo.root, REGISTRY_DIR);
}

export function aliasesFile(repo: Repo, name: string): string {
  return join(registryDir(repo, name), 'aliases.yaml');
}

function versionFile(repo: Repo, name: string, version: number): string {
  return join(registryDir(repo, name), 'versions', `${version}.yaml`);
}

function rel(repo: Repo, p: string): string {
  return toPosix(relative(repo.root, p));
}

export function listVersionNumbers(repo: Repo, name: string): number[] {
  const dir = join(registryDir(repo, name), 'versions');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => /^(\d+)\.yaml$/.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export function readVersion(repo: Repo, name: string, version: number): ModelVersion {
  const file = versionFile(repo, name, version);
  if (!existsSync(file)) {
    const known = listVersionNumbers(repo, name);
    throw new MloError('MLO_UNKNOWN_VERSION', `${name}@${version} is not registered`, {
      hint: known.length ? `${name} has versions ${known.join(', ')}` : `register one with \`mlo model register models/${name}\``,
    });
  }
  return readYamlFile(file, versionSchema, rel(repo, file)).value;
}

export function readAliases(repo: Repo, name: string): Record<string, number> {
  const file = aliasesFile(repo, name);
  if (!existsSync(file)) return {};
  return readYamlFile(file, aliasesSchema, rel(repo, file)).value.aliases;
}

export function readAudit(repo: Repo, name: string): AuditEntry[] {
  const file = join(registryDir(repo, name), 'audit.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as AuditEntry);
}

function appendAudit(repo: Repo, name: string, entry: AuditEntry): void {
  const file = join(registryDir(repo, name), 'audit.jsonl');
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const sep = before && !before.endsWith('\n') ? '\n' : '';
  writeFileAtomic(file, `${before}${sep}${JSON.stringify(entry)}\n`);
}

export interface ModelRef {
  name: string;
  /** A version number, an alias, or 'latest'. */
  selector?: string;
}

export function parseRef(ref: string): ModelRef {
  const at = ref.indexOf('@');
  const name = at < 0 ? ref : ref.slice(0, at);
  const selector = at < 0 ? undefined : ref.slice(at + 1);
  if (!MODEL_NAME_RE.test(name) || selector === '') {
    throw new MloError('MLO_BAD_REF', `'${ref}' is not a model reference`, { hint: 'use NAME, NAME@VERSION (NAME@3) or NAME@ALIAS (NAME@production)' });
  }
  return { name, selector };
}

/** The version a reference points at now: a number, an alias, 'latest', or (no selector) the latest. */
export function resolveVersion(repo: Repo, ref: ModelRef): { version: number; alias?: string } {
  const versions = listVersionNumbers(repo, ref.name);
  if (versions.length === 0) {
    throw new MloError('MLO_UNKNOWN_MODEL', `no model named '${ref.name}' in the registry`, {
      hint: 'list registered models with `mlo model list`; register one with `mlo model register models/NAME`',
    });
  }
  const sel = ref.selector;
  if (sel === undefined || sel === 'latest') return { version: versions[versions.length - 1] };
  if (/^\d+$/.test(sel)) {
    const v = Number(sel);
    if (!versions.includes(v)) {
      throw new MloError('MLO_UNKNOWN_VERSION', `${ref.name}@${v} is not registered`, { hint: `${ref.name} has versions ${versions.join(', ')}` });
    }
    return { version: v };
  }
  const aliases = readAliases(repo, ref.name);
  const v = aliases[sel];
  if (v === undefined) {
    const known = Object.keys(aliases);
    throw new MloError('MLO_UNKNOWN_ALIAS', `${ref.name} has no alias '${sel}'`, {
      hint: known.length
        ? `its aliases are ${known.join(', ')}`
        : `set one with \`mlo model promote ${ref.name}@${versions[versions.length - 1]} --to ${sel}\``,
    });
  }
  return { version: v, alias: sel };
}

export interface RegisterOptions {
  cwd: string;
  /** The package folder (holding model.yaml). */
  package: string;
  name?: string;
}

export interface RegisterResult {
  name: string;
  version: number;
  created: boolean;
  hash: string;
  file: string;
}

export async function registerModel(repo: Repo, options: RegisterOptions): Promise<RegisterResult> {
  const dir = resolve(options.cwd, options.package);
  const relDir = rel(repo, dir);
  if (relDir.startsWith('..')) {
    throw new MloError('MLO_OUTSIDE_REPO', `${options.package} is outside the repository`, {
      hint: 'package the model inside the repository (the default is models/NAME)',
    });
  }
  const pkg = readPackage(dir, options.package);
  const name = options.name ?? pkg.name;
  if (!MODEL_NAME_RE.test(name))
    throw new MloError('MLO_BAD_NAME', `invalid model name '${name}'`, { hint: 'use lowercase letters, digits, dots, dashes or underscores' });
  const modelPath = join(dir, pkg.model.path);
  if (!existsSync(modelPath)) {
    throw new MloError('MLO_NOT_FOUND', `${toPosix(join(options.package, pkg.model.path))}: no such file`, {
      hint: 'package the model again, or `mlo checkout` it',
    });
  }
  const hash = hashBytes(readFileSync(modelPath));
  if (hash !== pkg.model.hash) {
    throw new MloError(
      'MLO_PACKAGE_CHANGED',
      `${toPosix(join(options.package, pkg.model.path))} changed since it was packaged (hash ${hash.slice(0, 12)}, model.yaml says ${pkg.model.hash.slice(0, 12)})`,
      {
        hint: 'run `mlo model package` again so model.yaml describes the file being registered',
      },
    );
  }
  return withRepoLock(repo, { command: 'model register' }, async () => {
    const versions = listVersionNumbers(repo, name);
    for (let i = versions.length - 1; i >= 0; i--) {
      const prev = readVersion(repo, name, versions[i]);
      if (prev.model.hash === hash) {
        return { name, version: prev.version, created: false, hash, file: rel(repo, versionFile(repo, name, prev.version)) };
      }
    }
    const version = (versions[versions.length - 1] ?? 0) + 1;
    const by = gitUser(repo.root) ?? null;
    const git = await workState(repo.root);
    const doc: ModelVersion = {
      schema: 1,
      name,
      version,
      registered: new Date().toISOString(),
      by,
      package: relDir,
      ...(git ? { git: { commit: git.commit, dirty: git.dirty } } : {}),
      model: { ...pkg.model, path: rel(repo, modelPath) },
      signature: pkg.signature,
      lineage: pkg.lineage,
      card: pkg.card,
      ...(pkg.example ? { example: pkg.example } : {}),
      created: pkg.created,
    };
    const file = versionFile(repo, name, version);
    writeFileAtomic(file, toYaml(doc, `# ${name} version ${version}, written by mlo model register; see docs/models.md#registry`));
    appendAudit(repo, name, { ts: doc.registered, action: 'register', version, by, hash });
    return { name, version, created: true, hash, file: rel(repo, file) };
  });
}

export interface ModelSummary {
  name: string;
  versions: number;
  latest: number;
  aliases: Record<string, number>;
  registered: string;
  /** Aliases that name a version the registry does not hold (a bad merge or a hand edit). */
  danglingAliases: string[];
}

export function listModels(repo: Repo): ModelSummary[] {
  const dir = registryDir(repo);
  if (!existsSync(dir)) return [];
  const out: ModelSummary[] = [];
  for (const name of readdirSync(dir).sort()) {
    const versions = listVersionNumbers(repo, name);
    if (!versions.length) continue;
    const latest = versions[versions.length - 1];
    const aliases = readAliases(repo, name);
    const danglingAliases = Object.keys(aliases)
      .filter((a) => !versions.includes(aliases[a]))
      .sort();
    out.push({ name, versions: versions.length, latest, aliases, registered: readVersion(repo, name, latest).registered, danglingAliases });
  }
  return out;
}

export interface ShowResult extends ModelVersion {
  aliases: string[];
  versions: number[];
  history: AuditEntry[];
}

export function showModel(repo: Repo, ref: string): ShowResult {
  const r = parseRef(ref);
  const { version } = resolveVersion(repo, r);
  const doc = readVersion(repo, r.name, version);
  const aliases = Object.entries(readAliases(repo, r.name))
    .filter(([, v]) => v === version)
    .map(([a]) => a);
  return { ...doc, aliases, versions: listVersionNumbers(repo, r.name), history: readAudit(repo, r.name).filter((e) => e.version === version) };
}

export interface PromoteOptions {
  ref: string;
  to: string;
  reason?: string;
}

export interface PromoteResult {
  name: string;
  alias: string;
  version: number;
  previous: number | null;
  by: string | null;
}

export async function promoteModel(repo: Repo, options: PromoteOptions): Promise<PromoteResult> {
  const r = parseRef(options.ref);
  if (!ALIAS_RE.test(options.to) || options.to === 'latest') {
    throw new MloError('MLO_BAD_ALIAS', `invalid alias '${options.to}'`, {
      hint: "use lowercase letters, digits, '-' or '_' (e.g. production, staging); 'latest' is reserved",
    });
  }
  return withRepoLock(repo, { command: 'model promote' }, () => {
    const { version } = resolveVersion(repo, r);
    const aliases = readAliases(repo, r.name);
    const previous = aliases[options.to] ?? null;
    const by = gitUser(repo.root) ?? null;
    const next = { ...aliases, [options.to]: version };
    const sorted = Object.fromEntries(Object.entries(next).sort(([a], [b]) => (a < b ? -1 : 1)));
    writeFileAtomic(aliasesFile(repo, r.name), `# written by mlo model promote; history in audit.jsonl\n${stringify({ schema: 1, aliases: sorted })}`);
    appendAudit(repo, r.name, { ts: new Date().toISOString(), action: 'promote', alias: options.to, version, previous, by, reason: options.reason ?? null });
    return { name: r.name, alias: options.to, version, previous, by };
  });
}

export interface Change<T = unknown> {
  key: string;
  a?: T;
  b?: T;
  change: 'added' | 'removed' | 'modified';
  delta?: number;
}

export interface DiffResult {
  a: { name: string; version: number };
  b: { name: string; version: number };
  model: { a: { hash: string; size: number }; b: { hash: string; size: number }; same: boolean };
  signature: Change<string>[];
  metrics: Change<number>[];
  params: Change[];
  data: Change<string>[];
}

export function diffModels(repo: Repo, refA: string, refB: string): DiffResult {
  const ra = parseRef(refA);
  const rb = parseRef(refB);
  const va = readVersion(repo, ra.name, resolveVersion(repo, ra).version);
  const vb = readVersion(repo, rb.name, resolveVersion(repo, rb).version);
  const sig = (v: ModelVersion) => {
    const m: Record<string, string> = {};
    for (const i of v.signature.inputs) m[`input ${i.name}`] = `${i.type}[${(i.shape ?? []).map((d) => d ?? '?').join(',')}]`;
    for (const o of v.signature.outputs) m[`output ${o.name}`] = `${o.type}[${(o.shape ?? []).map((d) => d ?? '?').join(',')}]`;
    if (v.signature.columns) m.columns = v.signature.columns.join(',');
    return m;
  };
  const data = (v: ModelVersion) => Object.fromEntries((v.lineage.data ?? []).map((d) => [d.path, d.hash]));
  const metrics = diffMaps(va.lineage.metrics ?? {}, vb.lineage.metrics ?? {});
  for (const m of metrics) if (typeof m.a === 'number' && typeof m.b === 'number') m.delta = m.b - m.a;
  return {
    a: { name: va.name, version: va.version },
    b: { name: vb.name, version: vb.version },
    model: { a: { hash: va.model.hash, size: va.model.size }, b: { hash: vb.model.hash, size: vb.model.size }, same: va.model.hash === vb.model.hash },
    signature: diffMaps(sig(va), sig(vb)),
    metrics,
    params: diffMaps(va.lineage.params ?? {}, vb.lineage.params ?? {}),
    data: diffMaps(data(va), data(vb)),
  };
}

function diffMaps<T>(a: Record<string, T>, b: Record<string, T>): Change<T>[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const out: Change<T>[] = [];
  for (const key of keys) {
    const inA = key in a;
    const inB = key in b;
    if (inA && !inB) out.push({ key, a: a[key], change: 'removed' });
    else if (!inA && inB) out.push({ key, b: b[key], change: 'added' });
    else if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) out.push({ key, a: a[key], b: b[key], change: 'modified' });
  }
  return out;
}

/**
 * The bytes of a version's model: the workspace file when it still holds that version, else the cache
 * object with the version's hash (a later package may have overwritten the workspace file).
 */
export function locateModel(repo: Repo, v: ModelVersion): { file: string; bytes: Buffer } {
  const candidates = [join(repo.root, v.model.path), objectPath(repo.cacheDir, v.model.hash)];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file);
    if (hashBytes(bytes) === v.model.hash) return { file, bytes };
  }
  throw new MloError('MLO_MODEL_MISSING', `${v.name}@${v.version}: model ${v.model.hash.slice(0, 12)} is neither at ${v.model.path} nor in the cache`, {
    hint: 'fetch it from the remote (`mlo fetch`) or check out the commit that packaged it',
  });
}
