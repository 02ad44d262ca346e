/**
 * Reads the files a revision holds as that revision declares them, for every command that reads
 * metrics, params or plots at a revision (`metrics show|diff`, `params diff`, `plots diff`, `ci report`).
 *
 * A file is read from git's objects (or the working tree) when it is there. A stage's cached out, such
 * as a `metrics: [metrics.json]` entry on defaults, is not in git: then the revision's `mlo.lock` (or a
 * `.mlo` pointer) names its hash, and the object is read from the local cache, fetched first from the
 * default remote when the cache lacks it (as DVC reads such files). A file recorded but in neither place
 * is reported as missing, with why and what to run: never silently left out.
 */
import { readFileSync, statSync } from 'node:fs';
import { realInsideRepo } from '../data/pointer/paths.js';
import { isMloError } from '../../base/errors.js';
import { prefixInGit, readFilesAtRev } from '../../base/git.js';
import { readManifest } from '../data/cache/manifest.js';
import { hasObject, objectPath } from '../data/cache/objects.js';
import { corruptObjectError } from '../data/cache/verify.js';
import { hashBytes, isDirHash } from '../data/hash/blake3.js';
import { trackedAtRev } from '../data/revisions.js';
import { allTracked, type Tracked } from '../data/tracked.js';
import { withRepoLock } from '../repo/lock.js';
import type { Repo } from '../repo/repo.js';
import { fetchItems } from '../sync/download.js';

/** Where a file's content was read from. */
export type Origin = 'git' | 'workspace' | 'cache' | 'remote';

export type MissingReason =
  /** Declared in mlo.yaml, but neither in git nor recorded in mlo.lock: the stage never ran (or was not committed). */
  | 'not-recorded'
  /** Recorded by hash; neither the cache nor the default remote has the object. */
  | 'not-on-remote'
  /** Recorded by hash and not in the cache; no remote is configured to fetch it from. */
  | 'no-remote'
  /** Recorded by hash and not in the cache; the remote could not be read (unreachable, refused...). */
  | 'remote-error'
  /** The object in the cache (or the remote's copy) does not match its hash. */
  | 'corrupt'
  /** In the workspace, a symlink that leads out of the repository (a clone's link is untrusted): not read. */
  | 'outside-repo';

/** A file a revision declares or records, whose content could not be read. */
export interface MissingFile {
  file: string;
  reason: MissingReason;
  /** One line naming the file and the revision. */
  message: string;
  /** What to run. */
  hint?: string;
}

export interface ReadFiles {
  /** path -> text, for every path that could be read. */
  texts: Map<string, string>;
  origins: Map<string, Origin>;
  /** Paths recorded by hash (mlo.lock or a pointer) whose content could not be read. */
  missing: MissingFile[];
}

/** A revision to read from: a commit, or the working tree (`sha` null). */
export interface RevRef {
  /** As the user named it ('workspace' for the working tree): messages and hints use it. */
  label: string;
  sha: string | null;
}

export interface RevFiles {
  /** Reads `paths` from git (or the working tree) only; absent ones are left out. */
  plain(paths: string[]): Promise<Map<string, string>>;
  /**
   * Reads `paths` as the revision holds them: from git (or the working tree), else through the hash the
   * revision records for them (cache, then the default remote). Paths nothing records are left out.
   */
  read(paths: string[]): Promise<ReadFiles>;
}

export function revFiles(repo: Repo, at: RevRef): RevFiles {
  const plain = at.sha === null ? async (paths: string[]) => readWorkspaceFiles(repo.root, paths).texts : gitPlain(repo, at.sha);
  return {
    plain,
    async read(paths) {
      const ws = at.sha === null ? readWorkspaceFiles(repo.root, paths) : { texts: await plain(paths), outside: [] };
      const { texts } = ws;
      const origins = new Map<string, Origin>([...texts.keys()].map((p) => [p, at.sha === null ? 'workspace' : 'git']));
      const refused: MissingFile[] = ws.outside.map((file) => ({
        file,
        reason: 'outside-repo',
        message: `${file} in the workspace is a symlink to a file outside the repository; it was not read`,
        hint: 'replace the link with the file itself',
      }));
      const rest = paths.filter((p) => !texts.has(p) && !ws.outside.includes(p));
      const missing = rest.length ? await readRecorded(repo, at, rest, { texts, origins }) : [];
      return { texts, origins, missing: [...refused, ...missing] };
    },
  };
}

/**
 * The working tree's copies of `paths`, the one workspace reader of metrics, params and plots files: a
 * symlink committed in a clone must not make mlo read (and print) a file elsewhere, so a path whose
 * real location is outside the repository is listed in `outside`, not read.
 */
export function readWorkspaceFiles(root: string, paths: string[]): { texts: Map<string, string>; outside: string[] } {
  const texts = new Map<string, string>();
  const outside: string[] = [];
  for (const p of paths) {
    const real = realInsideRepo(root, p);
    if (real === 'outside') outside.push(p);
    else if (real !== undefined && statSync(real).isFile()) texts.set(p, readFileSync(real, 'utf8'));
  }
  return { texts, outside };
}

function gitPlain(repo: Repo, sha: string): RevFiles['plain'] {
  const prefix = prefixInGit(repo.root);
  return async (paths) => {
    const files = await readFilesAtRev(
      repo.root,
      sha,
      paths.map((p) => prefix + p),
    );
    return new Map(files.map((f) => [f.path.slice(prefix.length), f.content.toString('utf8')]));
  };
}

/** A path and the tracked item holding it: the item itself, or a directory out with the path inside. */
interface Wanted {
  file: string;
  item: Tracked;
}

/**
 * The paths among `paths` that the revision records by hash. What the revision tracks is read through
 * the data layer's readers (trackedAtRev, allTracked), which refuse an mlo.lock or pointer path that
 * leaves the repository: a cloned repository's lock is untrusted input.
 */
async function recordedAt(repo: Repo, at: RevRef, paths: string[]): Promise<Wanted[]> {
  // salvage: a pointer elsewhere that no longer parses at an old revision must not hide its metrics.
  const items = at.sha === null ? allTracked(repo) : await trackedAtRev(repo, at.sha, { salvage: true });
  const wanted: Wanted[] = [];
  for (const file of paths) {
    const exact = items.find((t) => t.path === file && !isDirHash(t.hash));
    const dir = exact ? undefined : items.find((t) => isDirHash(t.hash) && file.startsWith(`${t.path}/`));
    if (exact) wanted.push({ file, item: exact });
    else if (dir) wanted.push({ file, item: { ...dir, subpath: file.slice(dir.path.length + 1) } });
  }
  return wanted;
}

/** The hash of a wanted file's object, or undefined while its directory's manifest is not in the cache. */
function objectHashOf(repo: Repo, w: Wanted): string | undefined {
  if (!w.item.subpath) return w.item.hash;
  const entries = readManifest(repo.cacheDir, w.item.hash);
  return entries?.find((e) => e.path === w.item.subpath)?.hash;
}

async function readRecorded(
  repo: Repo,
  at: RevRef,
  paths: string[],
  into: { texts: Map<string, string>; origins: Map<string, Origin> },
): Promise<MissingFile[]> {
  const wanted = await recordedAt(repo, at, paths);
  if (wanted.length === 0) return [];
  const absent = wanted.filter((w) => {
    const hash = objectHashOf(repo, w);
    return hash === undefined || !hasObject(repo.cacheDir, hash);
  });
  const missing: MissingFile[] = [];
  const fetched = new Set<string>();
  if (absent.length) {
    const failed = await fetchFromRemote(repo, at, absent);
    for (const w of absent) {
      const why = failed.get(w.file);
      if (why) missing.push(why);
      else fetched.add(w.file);
    }
  }
  const done = new Set(missing.map((m) => m.file));
  for (const w of wanted) {
    if (done.has(w.file)) continue;
    const hash = objectHashOf(repo, w);
    if (hash === undefined || !hasObject(repo.cacheDir, hash)) {
      // The directory's manifest arrived but does not list the file: the revision records no such file.
      continue;
    }
    const bytes = readFileSync(objectPath(repo.cacheDir, hash));
    // Metrics and params files are small, so every read is hashed: a damaged object must not pass for the revision's values.
    if (hashBytes(bytes) !== hash) {
      const err = corruptObjectError(hash, `${w.file} ${where(at)}`);
      missing.push({ file: w.file, reason: 'corrupt', message: err.message, hint: err.hint });
      continue;
    }
    into.texts.set(w.file, bytes.toString('utf8'));
    into.origins.set(w.file, fetched.has(w.file) ? 'remote' : 'cache');
  }
  return missing;
}

/** "at main", or "in the workspace". */
export function where(at: RevRef): string {
  return at.sha === null ? 'in the workspace' : `at ${at.label}`;
}

function fetchCommand(at: RevRef): string {
  return at.sha === null ? 'mlo pull' : `mlo fetch --rev ${at.label}`;
}

/**
 * Downloads what `absent` needs from the default remote, under the repository lock (the cache is
 * written). Returns why each file that is still unreadable could not be fetched.
 */
async function fetchFromRemote(repo: Repo, at: RevRef, absent: Wanted[]): Promise<Map<string, MissingFile>> {
  const failed = new Map<string, MissingFile>();
  const items = absent.map((w) => w.item);
  let result: Awaited<ReturnType<typeof fetchItems>>;
  try {
    result = await withRepoLock(repo, { command: 'fetch (to read metrics)' }, () => fetchItems(repo, items, { cwd: repo.root }));
  } catch (err) {
    if (!isMloError(err)) throw err;
    const noRemote = err.code === 'MLO_NO_REMOTE' || err.code === 'MLO_UNKNOWN_REMOTE';
    for (const w of absent) {
      failed.set(w.file, {
        file: w.file,
        reason: noRemote ? 'no-remote' : 'remote-error',
        message: `${w.file} ${where(at)}: not in the cache, and ${noRemote ? 'no remote to fetch it from' : 'fetching it failed'}: ${err.message}`,
        hint: noRemote ? `${err.hint ?? 'add the remote that holds it'}; then run \`${fetchCommand(at)}\`` : err.hint,
      });
    }
    return failed;
  }
  const remote = result.remote ? `remote '${result.remote}'` : 'the remote';
  // A missing object is named by the path that needs it: the file, or its directory (the manifest).
  const usedBy = (path: string) => absent.filter((w) => w.file === path || (w.item.subpath !== undefined && w.item.path === path));
  for (const m of result.missing) {
    for (const w of usedBy(m.path)) {
      failed.set(w.file, {
        file: w.file,
        reason: 'not-on-remote',
        message: `${w.file} ${where(at)}: not in the cache or on ${remote}`,
        hint: `push it from the clone that ran the stage (\`mlo push\`), then run \`${fetchCommand(at)}\``,
      });
    }
  }
  for (const c of result.corrupt) {
    for (const w of usedBy(c.path)) {
      failed.set(w.file, {
        file: w.file,
        reason: 'corrupt',
        message: `${w.file} ${where(at)}: not in the cache, and ${remote} holds a corrupt copy (${c.reason})`,
        hint: 'run `mlo push --verify` from a clone whose cache holds a good copy',
      });
    }
  }
  return failed;
}
