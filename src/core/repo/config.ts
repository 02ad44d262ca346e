/**
 * `.mlo/config.yaml` (committed) and `.mlo/config.local.yaml` (git-ignored, for secrets and
 * machine-specific values). The local file is merged over the shared one, key by key.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MloError } from '../../base/errors.js';
import { readYamlFile } from '../../base/yamlfile.js';
import { SECRET_KEYS, urlHasCredentials } from '../../storage/remote.js';

export const LINK_TYPES = ['reflink', 'copy', 'hardlink', 'symlink'] as const;
export type LinkType = (typeof LINK_TYPES)[number];

const linkTypes = z.union([z.enum(LINK_TYPES), z.array(z.enum(LINK_TYPES)).nonempty(), z.string()]).transform((v, ctx): LinkType[] => {
  const list = Array.isArray(v) ? v : v.split(',').map((s) => s.trim());
  for (const t of list) {
    if (!(LINK_TYPES as readonly string[]).includes(t)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `unknown link type '${t}' (use ${LINK_TYPES.join(', ')})` });
      return z.NEVER;
    }
  }
  return list as LinkType[];
});

/** A remote's settings; the storage layer validates the fields each remote type needs. */
export const remoteConfigSchema = z.object({ url: z.string().min(1) }).passthrough();
export type RemoteConfig = z.infer<typeof remoteConfigSchema>;

export const configSchema = z
  .object({
    schema: z.literal(1).default(1),
    core: z
      .object({
        remote: z.string().optional(),
        /** Parallel jobs for hashing and transfers; defaults to the machine's cores. */
        jobs: z.number().int().positive().optional(),
        /**
         * `git add` what run, exp run, add and commit wrote (DVC's `core.autostage`) instead of
         * printing the command. Only paths inside the repository, so a clone may set it.
         */
        autostage: z.boolean().default(false),
      })
      .strict()
      .default({}),
    cache: z
      .object({
        type: linkTypes.default('reflink,copy'),
        dir: z.string().optional(),
        /** Re-hash an object before linking it if the state database has not seen it verified. */
        verify: z.boolean().default(true),
      })
      .strict()
      .default({}),
    remotes: z.record(z.string(), remoteConfigSchema).default({}),
    /** The shared experiment queue (docs/queue.md); without a broker, `--queue` stays local. */
    queue: z
      .object({
        /** redis://[user:password@]host:port/db; a password only in the local file or $MLO_QUEUE_BROKER. */
        broker: z.string().min(1).optional(),
        /** The BullMQ queue name: repositories sharing one Redis keep their grids apart. */
        name: z
          .string()
          .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
          .optional(),
        /** Runs of a job before it counts as failed (a worker that dies or loses Redis uses one). */
        attempts: z.number().int().min(1).max(100).optional(),
        /** Milliseconds a worker's lock on its job lasts without renewal; a dead worker's job is taken back after it. */
        lock_ms: z.number().int().min(500).optional(),
        /** Milliseconds between checks for jobs whose worker stopped renewing its lock. */
        stalled_ms: z.number().int().min(500).optional(),
      })
      .strict()
      .default({}),
    /** Local config only (see trust.ts): symlinks in `.mlo/` the user made, e.g. `[cache]`. */
    safe: z
      .object({ links: z.array(z.string().min(1)).default([]) })
      .strict()
      .default({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

import { CONFIG_FILE, LOCAL_CONFIG_FILE } from './names.js';

export { CONFIG_FILE, LOCAL_CONFIG_FILE };

export function readRawConfig(file: string, displayName: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  return readYamlFile(file, z.record(z.string(), z.unknown()), displayName).value;
}

export interface LoadedConfig {
  config: Config;
  /**
   * Whether `cache.dir` comes from the local file, which only the user writes. A committed one came
   * with the clone, so repo.ts uses it only where it stays inside the repository.
   */
  cacheDirIsLocal: boolean;
}

/** Reads and validates both config files; commands go through config-load.ts, which caches this. */
export function loadConfig(mloDir: string): LoadedConfig {
  const shared = readRawConfig(join(mloDir, CONFIG_FILE), '.mlo/config.yaml');
  const local = readRawConfig(join(mloDir, LOCAL_CONFIG_FILE), '.mlo/config.local.yaml');
  const merged = deepMerge(shared, local);
  // Validate each file separately first so an error names the file it is in.
  parseConfig(shared, '.mlo/config.yaml');
  refuseSharedSecrets(shared);
  refuseSharedTrust(shared);
  const config = parseConfig(merged, Object.keys(local).length ? '.mlo/config.local.yaml' : '.mlo/config.yaml');
  const localCache = local.cache;
  return { config, cacheDirIsLocal: isPlainObject(localCache) && localCache.dir !== undefined };
}

/** `safe.links` of the local file alone, for the check that runs before the config is loaded (trust.ts). */
export function localSafeLinks(mloDir: string): string[] {
  const local = readRawConfig(join(mloDir, LOCAL_CONFIG_FILE), '.mlo/config.local.yaml');
  return parseConfig(deepMerge({}, local), '.mlo/config.local.yaml').safe.links;
}

/**
 * What says "trust this" must come from the user, as git reads `safe.directory` only from the user's
 * own config: a committed `safe` would let a clone confirm its own links.
 */
function refuseSharedTrust(shared: Record<string, unknown>): void {
  if (!('safe' in shared)) return;
  throw new MloError('MLO_UNTRUSTED_PATH', '.mlo/config.yaml: safe.links: only .mlo/config.local.yaml may confirm links, not the committed config', {
    hint: 'remove the `safe` section from .mlo/config.yaml; each user confirms their own links in .mlo/config.local.yaml (git-ignored)',
  });
}

/**
 * A credential in the committed file would be pushed to every clone of the repository: refused, not
 * used, whoever wrote it there (`mlo remote modify` never does).
 */
function refuseSharedSecrets(shared: Record<string, unknown>): void {
  const queue = shared.queue;
  if (isPlainObject(queue) && typeof queue.broker === 'string' && urlHasCredentials(queue.broker)) {
    throw new MloError(
      'MLO_SECRET_IN_SHARED_CONFIG',
      '.mlo/config.yaml: queue.broker: credentials in a URL (user:password@) are refused in the committed config',
      {
        hint: 'keep redis://host:port/db in .mlo/config.yaml and put the URL with its password in .mlo/config.local.yaml (git-ignored) or $MLO_QUEUE_BROKER; if it was committed, rotate the password',
      },
    );
  }
  const remotes = shared.remotes;
  if (!isPlainObject(remotes)) return;
  for (const [name, remote] of Object.entries(remotes)) {
    if (!isPlainObject(remote)) continue;
    const inUrl = Object.keys(remote).find((k) => typeof remote[k] === 'string' && urlHasCredentials(remote[k]));
    if (inUrl !== undefined) {
      throw new MloError(
        'MLO_SECRET_IN_SHARED_CONFIG',
        `.mlo/config.yaml: remotes.${name}.${inUrl}: credentials in a URL (user:password@) are refused in the committed config`,
        {
          hint: `remove the user:password@ part from .mlo/config.yaml; S3 credentials go in \`mlo remote modify --local ${name} access_key_id VALUE\` (and secret_access_key); if it was committed, rotate the password`,
        },
      );
    }
    const key = SECRET_KEYS.find((k) => k in remote);
    if (key === undefined) continue;
    throw new MloError('MLO_SECRET_IN_SHARED_CONFIG', `.mlo/config.yaml: remotes.${name}.${key}: credentials are refused in the committed config`, {
      hint: `remove it from .mlo/config.yaml and run \`mlo remote modify --local ${name} ${key} VALUE\` (writes .mlo/config.local.yaml, which git ignores); if it was committed, rotate the key`,
    });
  }
}

function parseConfig(raw: unknown, name: string): Config {
  const r = configSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const key = issue.path.join('.') || '(top level)';
  throw new MloError('MLO_BAD_CONFIG', `${name}: ${key}: ${issue.message}`, {
    hint: 'fix the value in that file; see docs/file-formats.md#config',
  });
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
