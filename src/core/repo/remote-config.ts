/**
 * Remotes in the config: `remotes.<name>` in `.mlo/config.yaml` (committed) and, for credentials and
 * machine-specific values, `.mlo/config.local.yaml` (git-ignored); the default is `core.remote`.
 * Edits go through the YAML document, so comments and key order in the files survive.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, parseDocument, type Document } from 'yaml';
import { CONFIG_FILE, LOCAL_CONFIG_FILE, configSchema, deepMerge, readRawConfig } from './config.js';
import { MloError, usageError } from '../../base/errors.js';
import { writeFileAtomic } from '../../base/fs.js';
import { yamlToJs } from '../../base/yamlfile.js';
import type { Repo } from './repo.js';
import {
  BOOLEAN_KEYS,
  DEFAULT_JOBS,
  NUMBER_KEYS,
  REMOTE_KEYS,
  SECRET_KEYS,
  parseRemoteSpec,
  redactUrl,
  remoteTypeOf,
  urlHasCredentials,
  type RemoteSpec,
} from '../../storage/remote.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface RemoteInfo {
  name: string;
  url: string;
  type: RemoteSpec['type'];
  default: boolean;
  /** Settings besides url; secrets are shown as '***'. */
  settings: Record<string, unknown>;
  /** Where the remote's url is defined. */
  file: '.mlo/config.yaml' | '.mlo/config.local.yaml';
}

type Raw = Record<string, unknown>;

function files(repo: Repo) {
  return { shared: join(repo.mloDir, CONFIG_FILE), local: join(repo.mloDir, LOCAL_CONFIG_FILE) };
}

function remotesOf(raw: Raw): Record<string, Raw> {
  const r = raw.remotes;
  return typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as Record<string, Raw>) : {};
}

function merged(repo: Repo): Raw {
  const f = files(repo);
  return deepMerge(readRawConfig(f.shared, '.mlo/config.yaml'), readRawConfig(f.local, '.mlo/config.local.yaml'));
}

function checkName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw usageError(`invalid remote name '${name}'`, 'use letters, digits, dot, dash and underscore, starting with a letter or digit');
  }
}

function unknownRemote(repo: Repo, name: string): MloError {
  const names = Object.keys(remotesOf(merged(repo)));
  return new MloError('MLO_UNKNOWN_REMOTE', `no remote named '${name}'`, {
    hint: names.length ? `configured remotes: ${names.join(', ')}` : 'add one with `mlo remote add NAME URL`',
  });
}

export function listRemotes(repo: Repo): RemoteInfo[] {
  const f = files(repo);
  const shared = readRawConfig(f.shared, '.mlo/config.yaml');
  const all = merged(repo);
  const def = (all.core as Raw | undefined)?.remote;
  return Object.entries(remotesOf(all)).map(([name, raw]) => {
    const { url, ...rest } = raw;
    const settings: Raw = {};
    for (const [k, v] of Object.entries(rest)) settings[k] = (SECRET_KEYS as readonly string[]).includes(k) ? '***' : typeof v === 'string' ? redactUrl(v) : v;
    return {
      name,
      url: redactUrl(String(url)),
      type: remoteTypeOf(String(url)),
      default: def === name,
      settings,
      file: remotesOf(shared)[name]?.url !== undefined ? '.mlo/config.yaml' : '.mlo/config.local.yaml',
    };
  });
}

/** The remote to use: `name`, else `core.remote`, else the only one configured. */
export function resolveRemote(repo: Repo, name?: string): { name: string; spec: RemoteSpec } {
  const remotes = repo.config.remotes;
  const names = Object.keys(remotes);
  const chosen = name ?? repo.config.core.remote ?? (names.length === 1 ? names[0] : undefined);
  if (!chosen) {
    throw new MloError('MLO_NO_REMOTE', names.length ? `${names.length} remotes are configured and none is the default` : 'no remote is configured', {
      hint: names.length
        ? `pass -r NAME (one of ${names.join(', ')}) or set one with \`mlo remote default NAME\``
        : 'add one with `mlo remote add --default NAME s3://BUCKET/PREFIX` (or a folder path)',
    });
  }
  const raw = remotes[chosen];
  if (!raw) throw unknownRemote(repo, chosen);
  return { name: chosen, spec: parseRemoteSpec(chosen, raw, repo.root) };
}

export function remoteJobs(spec: RemoteSpec, jobs?: number): number {
  return jobs ?? spec.jobs ?? DEFAULT_JOBS[spec.type];
}

export interface AddRemoteOptions {
  name: string;
  url: string;
  default?: boolean;
  force?: boolean;
  local?: boolean;
}

export function addRemote(repo: Repo, options: AddRemoteOptions): RemoteInfo {
  const { name, url } = options;
  checkName(name);
  parseRemoteSpec(name, { url }, repo.root);
  if (!options.local) refuseUrlCredentials(name, 'url', url);
  const exists = remotesOf(merged(repo))[name] !== undefined;
  if (exists && !options.force) {
    throw new MloError('MLO_REMOTE_EXISTS', `remote '${name}' already exists`, {
      hint: `change its URL with \`mlo remote modify ${name} url ${redactUrl(url)}\`, or replace it with \`mlo remote add --force ${name} ${redactUrl(url)}\``,
    });
  }
  const f = files(repo);
  // --force replaces the remote with its settings. Each step leaves a valid config: the file that will
  // hold the new url is written first, the other one cleared after.
  const [target, other] = options.local ? [f.local, f.shared] : [f.shared, f.local];
  if (exists && !options.local) editConfig(repo, other, (doc) => deleteIn(doc, ['remotes', name]));
  editConfig(repo, target, (doc) => {
    doc.setIn(['remotes', name], doc.createNode({ url }));
    if (options.default) doc.setIn(['core', 'remote'], name);
  });
  if (exists && options.local) editConfig(repo, other, (doc) => deleteIn(doc, ['remotes', name]));
  return listRemotes(repo).find((r) => r.name === name)!;
}

export function removeRemote(repo: Repo, name: string): void {
  if (remotesOf(merged(repo))[name] === undefined) throw unknownRemote(repo, name);
  const f = files(repo);
  // A default naming the remote goes first, from whichever file holds it: each step must leave a
  // config that validates, and a default naming a removed remote does not.
  for (const file of [f.local, f.shared]) {
    editConfig(repo, file, (doc) => {
      if (doc.getIn(['core', 'remote']) === name) deleteIn(doc, ['core', 'remote']);
    });
  }
  // Both files, the local one first: its settings (credentials) without the url would be invalid.
  for (const file of [f.local, f.shared]) editConfig(repo, file, (doc) => deleteIn(doc, ['remotes', name]));
}

export interface ModifyRemoteOptions {
  name: string;
  key: string;
  value?: string;
  unset?: boolean;
  local?: boolean;
}

export function modifyRemote(repo: Repo, options: ModifyRemoteOptions): RemoteInfo {
  const { name, key } = options;
  const current = remotesOf(merged(repo))[name];
  if (current === undefined) throw unknownRemote(repo, name);
  const type = remoteTypeOf(String(current.url));
  if (key !== 'url' && !REMOTE_KEYS[type].includes(key)) {
    throw usageError(`'${key}' is not a setting of ${type} remotes`, `settings: url, ${REMOTE_KEYS[type].join(', ')} (docs/remotes.md)`);
  }
  if (options.unset && key === 'url') throw usageError('a remote needs a url', `remove the remote with \`mlo remote remove ${name}\``);
  if ((SECRET_KEYS as readonly string[]).includes(key) && !options.local) {
    throw new MloError('MLO_SECRET_IN_SHARED_CONFIG', `refusing to write ${key} to .mlo/config.yaml, which is committed to git`, {
      hint: `use \`mlo remote modify --local ${name} ${key} ...\` (writes .mlo/config.local.yaml, which git ignores), or the AWS environment and profiles`,
      exitCode: 2,
    });
  }
  if (!options.unset && options.value === undefined) throw usageError(`missing value for ${key}`);
  if (!options.unset && !options.local) refuseUrlCredentials(name, key, options.value!);
  const value = options.unset ? undefined : coerce(key, options.value!);
  const f = files(repo);
  if (options.unset) {
    for (const file of [f.local, f.shared]) editConfig(repo, file, (doc) => deleteIn(doc, ['remotes', name, key]));
  } else {
    editConfig(repo, options.local ? f.local : f.shared, (doc) => {
      if (!doc.hasIn(['remotes', name])) doc.setIn(['remotes', name], doc.createNode({}));
      doc.setIn(['remotes', name, key], value);
    });
  }
  return listRemotes(repo).find((r) => r.name === name)!;
}

/** A password in a URL is a credential: it goes to config.local.yaml, as SECRET_KEYS do. */
function refuseUrlCredentials(name: string, key: string, value: string): void {
  if (!urlHasCredentials(value)) return;
  throw new MloError(
    'MLO_SECRET_IN_SHARED_CONFIG',
    `refusing to write a URL with credentials (user:password@) to .mlo/config.yaml, which is committed to git`,
    {
      hint: `drop the credentials from the URL, or use \`mlo remote modify --local ${name} ${key} ...\` (writes .mlo/config.local.yaml, which git ignores)`,
      exitCode: 2,
    },
  );
}

/** Deletes a key if present (yaml's deleteIn throws when a parent is missing). */
function deleteIn(doc: Document, path: string[]): void {
  if (doc.hasIn(path)) doc.deleteIn(path);
}

function coerce(key: string, value: string): unknown {
  if (NUMBER_KEYS.has(key)) {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw usageError(`${key} must be a positive number, got '${value}'`);
    return n;
  }
  if (BOOLEAN_KEYS.has(key)) {
    const v = value.toLowerCase();
    if (['true', 'yes', '1', 'on'].includes(v)) return true;
    if (['false', 'no', '0', 'off'].includes(v)) return false;
    throw usageError(`${key} must be true or false, got '${value}'`);
  }
  return value;
}

export interface DefaultRemoteOptions {
  name?: string;
  unset?: boolean;
  local?: boolean;
}

/** Sets, clears or (with neither) reads `core.remote`; returns the default afterwards. */
export function defaultRemote(repo: Repo, options: DefaultRemoteOptions): string | undefined {
  const f = files(repo);
  if (options.unset) {
    editConfig(repo, options.local ? f.local : f.shared, (doc) => deleteIn(doc, ['core', 'remote']));
  } else if (options.name !== undefined) {
    if (remotesOf(merged(repo))[options.name] === undefined) throw unknownRemote(repo, options.name);
    // A remote added with --local exists on this machine only: as the shared default it would break
    // every teammate's push, so its default stays on this machine too.
    const localOnly = remotesOf(readRawConfig(f.shared, '.mlo/config.yaml'))[options.name]?.url === undefined;
    editConfig(repo, options.local || localOnly ? f.local : f.shared, (doc) => void doc.setIn(['core', 'remote'], options.name));
  }
  return (merged(repo).core as Raw | undefined)?.remote as string | undefined;
}

/**
 * Applies `edit` to one config file and writes it back, but only after the merged result validates
 * (config schema, and every remote's settings), so a bad value never reaches the file.
 */
function editConfig(repo: Repo, file: string, edit: (doc: Document) => void): void {
  const f = files(repo);
  const display = file === f.local ? '.mlo/config.local.yaml' : '.mlo/config.yaml';
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const doc = parseDocument(text);
  if (doc.errors.length) {
    throw new MloError('MLO_BAD_CONFIG', `${display}: ${doc.errors[0].message}`, { hint: 'fix the YAML in that file' });
  }
  if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as unknown as typeof doc.contents;
  const before = doc.toString();
  edit(doc);
  // Block style for what we write (the template has `remotes: {}`), whatever style it had.
  const remotes = doc.get('remotes', true);
  if (isMap(remotes)) {
    remotes.flow = remotes.items.length === 0;
    for (const item of remotes.items) if (isMap(item.value)) item.value.flow = false;
  }
  const core = doc.get('core', true);
  if (isMap(core) && core.items.length === 0) doc.delete('core');
  if (doc.toString() === before) return;
  const raw = (yamlToJs(doc, display, 'MLO_BAD_CONFIG') ?? {}) as Raw;
  const other = file === f.local ? readRawConfig(f.shared, '.mlo/config.yaml') : readRawConfig(f.local, '.mlo/config.local.yaml');
  const all = file === f.local ? deepMerge(other, raw) : deepMerge(raw, other);
  const parsed = configSchema.safeParse(all);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MloError('MLO_BAD_CONFIG', `${display}: ${issue.path.join('.')}: ${issue.message}`, { hint: 'nothing was written' });
  }
  for (const [name, r] of Object.entries(parsed.data.remotes)) parseRemoteSpec(name, r, repo.root);
  const def = parsed.data.core.remote;
  if (def !== undefined && !parsed.data.remotes[def]) {
    throw new MloError('MLO_UNKNOWN_REMOTE', `core.remote names '${def}', which is not a configured remote`, { hint: 'nothing was written' });
  }
  // The local file holds credentials: readable by its owner only, as ~/.aws/credentials should be.
  writeFileAtomic(file, doc.toString(), file === f.local ? { mode: 0o600 } : {});
}
