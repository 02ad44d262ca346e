/**
 * `mlo.lock`, the machine-written record of the last successful run of each stage: the resolved cmd,
 * every dep's and out's hash and size, and the params' values. Keys come out in a fixed order so the
 * file diffs well. The contract with src/core/data/tracked.ts (`outsFromLockDoc`): each `stages.<name>.outs[]`
 * entry holds exactly path (root-relative), hash, size, optional files, and `cache: false` when uncached.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { errnoCode, explainFsError } from '../../base/errors.js';
import { writeFileAtomic } from '../../base/fs.js';
import { anyHashSchema, countSchema, safeRelPath } from './pointer/schema.js';
import type { Repo } from '../repo/repo.js';
import { lineOf, parseYamlText } from '../../base/yamlfile.js';
import { LOCK_FILE } from '../repo/names.js';
import { sortDeep } from '../../base/json.js';
import { readThroughCache } from '../repo/parsecache.js';
import { sameStat, statKey, type StatKey } from './state.js';

export { LOCK_FILE };

const fileEntry = z
  .object({
    path: safeRelPath,
    hash: anyHashSchema,
    size: countSchema,
    files: countSchema.optional(),
  })
  .strict();

const outEntry = fileEntry.extend({ cache: z.literal(false).optional() }).strict();

export const lockEntrySchema = z
  .object({
    cmd: z.union([z.string(), z.array(z.string())]),
    /** The stage's `env`, written only when it has one (entries of older mlo versions have none). */
    env: z.record(z.string(), z.string()).optional(),
    deps: z.array(fileEntry).default([]),
    params: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    outs: z.array(outEntry).default([]),
  })
  .strict();

export const lockSchema = z
  .object({
    schema: z.literal(1),
    stages: z.record(z.string(), lockEntrySchema).default({}),
  })
  .strict();

/** The file as read: each stage entry is validated on its own (see parseLockText). */
const lockFileSchema = lockSchema.extend({ stages: z.record(z.string(), z.unknown()).default({}) }).strict();

export type LockFileEntry = z.infer<typeof fileEntry>;
export type LockOutEntry = z.infer<typeof outEntry>;
export type LockEntry = z.infer<typeof lockEntrySchema>;
export type LockDoc = z.infer<typeof lockSchema> & {
  /**
   * Entries that failed validation (an unsafe path, a bad hash...), by stage name: why, with the line.
   * They are not in `stages`: their stage runs again, and the next write of mlo.lock drops them.
   */
  invalid?: Record<string, string>;
};

export function emptyLock(): LockDoc {
  return { schema: 1, stages: {} };
}

export function readLock(repo: Repo): LockDoc {
  return readThroughCache(repo, LOCK_FILE, () => {
    let text: string;
    try {
      text = readFileSync(join(repo.root, LOCK_FILE), 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { value: emptyLock(), inputs: [LOCK_FILE] };
      explainFsError(err, LOCK_FILE);
    }
    return { value: text.trim() === '' ? emptyLock() : parseLockText(text), inputs: [LOCK_FILE] };
  });
}

/**
 * Reads mlo.lock. An invalid stage entry does not make the whole file unreadable (which would stop
 * every `mlo run` and `mlo status` until the file was edited by hand): it is set aside in `invalid`.
 */
export function parseLockText(text: string): LockDoc {
  const { value, doc: yamlDoc, lines } = parseYamlText(text, LOCK_FILE, lockFileSchema);
  const doc: LockDoc = { schema: 1, stages: {} };
  for (const [name, raw] of Object.entries(value.stages)) {
    const parsed = lockEntrySchema.safeParse(raw);
    if (parsed.success) {
      doc.stages[name] = parsed.data;
      continue;
    }
    const issue = parsed.error.issues[0];
    const keyPath = ['stages', name, ...issue.path];
    const line = lineOf(yamlDoc, lines, keyPath);
    (doc.invalid ??= {})[name] = `${line ? `${LOCK_FILE}:${line}` : LOCK_FILE}: ${keyPath.join('.')}: ${issue.message}`;
  }
  return doc;
}

const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/** A lock entry with every key in its fixed place (the form written and compared). */
export function normalizeEntry(e: LockEntry): LockEntry {
  const file = (f: LockFileEntry) =>
    f.files === undefined ? { path: f.path, hash: f.hash, size: f.size } : { path: f.path, hash: f.hash, size: f.size, files: f.files };
  const params: Record<string, Record<string, unknown>> = {};
  for (const f of Object.keys(e.params).sort()) params[f] = sortDeep(e.params[f]) as Record<string, unknown>;
  const env =
    e.env && Object.keys(e.env).length
      ? Object.fromEntries(
          Object.keys(e.env)
            .sort()
            .map((k) => [k, e.env![k]]),
        )
      : undefined;
  return {
    cmd: e.cmd,
    ...(env ? { env } : {}),
    deps: [...e.deps].sort(byPath).map(file),
    params,
    outs: [...e.outs].sort(byPath).map((o) => (o.cache === false ? { ...file(o), cache: false as const } : file(o))),
  };
}

/**
 * Each stage's YAML text, by stage name and content: rewriting mlo.lock after every stage of a large
 * pipeline then serializes only the entries that changed (the yaml package needs ~0.2 ms per entry,
 * which over 1,000 stages rewritten 1,000 times was minutes).
 */
const entryText = new Map<string, string>();

function stageText(name: string, e: LockEntry): string {
  const out: Record<string, unknown> = { cmd: e.cmd };
  if (e.env) out.env = e.env;
  if (e.deps.length) out.deps = e.deps;
  if (Object.keys(e.params).length) out.params = e.params;
  if (e.outs.length) out.outs = e.outs;
  const key = JSON.stringify([name, out]);
  let text = entryText.get(key);
  if (text === undefined) {
    // Serialized under `stages:` so the indentation is the one of the whole file.
    text = stringify({ stages: { [name]: out } }, { lineWidth: 0, sortMapEntries: false }).slice('stages:\n'.length);
    if (entryText.size > 20_000) entryText.clear();
    entryText.set(key, text);
  }
  return text;
}

export function serializeLock(doc: LockDoc): string {
  const names = Object.keys(doc.stages).sort();
  const header = '# Written by `mlo run`; do not edit. Commit it with mlo.yaml.\nschema: 1\n';
  if (names.length === 0) return `${header}stages: {}\n`;
  return `${header}stages:\n${names.map((n) => stageText(n, normalizeEntry(doc.stages[n]))).join('')}`;
}

/** The doc this process last wrote, and the file's stat right after: unchanged on disk means no re-read. */
const lastWritten = new Map<string, { stat: StatKey; doc: LockDoc }>();

/**
 * Re-reads mlo.lock (unless it is still exactly what this process last wrote), applies `updates` (an
 * entry, or null to drop the stage) and keeps only stages `keep` accepts, then writes it atomically.
 * Call while holding the repository lock, so concurrent runs never lose each other's entries.
 */
export function updateLock(repo: Repo, updates: Record<string, LockEntry | null>, keep?: (name: string) => boolean): LockDoc {
  const file = join(repo.root, LOCK_FILE);
  const mine = lastWritten.get(file);
  let current: LockDoc | undefined;
  if (mine) {
    try {
      if (sameStat(statSync(file), mine.stat)) current = mine.doc;
    } catch {
      // Gone: read below (gives an empty lock).
    }
  }
  const doc: LockDoc = { schema: 1, stages: { ...(current ?? readLock(repo)).stages } };
  for (const [name, entry] of Object.entries(updates)) {
    if (entry === null) delete doc.stages[name];
    else doc.stages[name] = entry;
  }
  if (keep) for (const name of Object.keys(doc.stages)) if (!keep(name)) delete doc.stages[name];
  writeFileAtomic(file, serializeLock(doc));
  lastWritten.set(file, { stat: statKey(statSync(file)), doc });
  return doc;
}
