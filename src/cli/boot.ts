/**
 * Runs the bundled CLI (dist/mlo.cjs, built by scripts/bundle.mjs) with V8's code cache, the way
 * Node 22's module.enableCompileCache() would: the first run compiles the bundle and saves V8's code
 * for it; later runs skip parsing and compiling what they reuse. Measured on a no-op `mlo status`,
 * bundle and cache together start ~15 ms faster than the ~40 ES modules in dist/.
 *
 * The cache lives in $MLO_CODE_CACHE, else $XDG_CACHE_HOME/mlo, else ~/.cache/mlo; MLO_CODE_CACHE=0
 * turns it off. Losing it, or failing to write it, only costs start-up time.
 */
import { closeSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

type Env = Record<string, string | undefined>;

/** Where scripts/bundle.mjs writes the bundle: dist/mlo.cjs, beside this file's dist/cli/. */
export const BUNDLE_URL = new URL('../mlo.cjs', import.meta.url);

/** The code cache folder, or undefined when MLO_CODE_CACHE=0. */
export function codeCacheDir(env: Env = process.env): string | undefined {
  if (env.MLO_CODE_CACHE === '0') return undefined;
  if (env.MLO_CODE_CACHE) return env.MLO_CODE_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mlo');
}

/**
 * The cache file for one bundle at one path on this Node. V8 validates a cache only by its version,
 * flags and the source's length, so the name carries the bundle's content id: two builds of equal
 * length never share a cache. It also carries a digest of the bundle's path, because the functions V8
 * restores from a cache keep the file name they were compiled under: two checkouts or installs of the
 * same build sharing one cache made stack traces (`-v`) name the other one's files. The Node version
 * keeps two installed Nodes from overwriting each other's.
 */
export function codeCacheFile(dir: string, bundleId: string, bundlePath: string): string {
  const where = createHash('sha256').update(bundlePath).digest('hex').slice(0, 8);
  return join(dir, `mlo-${bundleId}-${where}-node${process.versions.node}-${process.arch}.v8cache`);
}

/** The id scripts/bundle.mjs writes on the bundle's first line. */
export function bundleId(source: string): string | undefined {
  return /^\/\/ mlo-bundle ([0-9a-f]{16})\n/.exec(source)?.[1];
}

function readOptional(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    // Missing or unreadable: compile from source, and try to save a cache afterwards.
    return undefined;
  }
}

function saveCodeCache(file: string, data: Buffer): boolean {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  } catch {
    // A read-only home folder, or a file in the way: the next run compiles again, nothing else changes.
    return false;
  }
  try {
    writeFileSync(temp, data, { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    rmSync(temp, { force: true });
    return false;
  }
  pruneOldCaches(dirname(file));
  return true;
}

/** A cache not written for this long belongs to a build or Node no longer in use. */
const STALE_CACHE_MS = 30 * 24 * 3600 * 1000;

/**
 * Each rebuild or Node upgrade leaves a ~300 KB cache behind; the folder is tidied whenever a new
 * cache is written (rarely: once per build and Node version). Caches of two installations used in
 * turn are both recent, so neither evicts the other.
 */
function pruneOldCaches(dir: string): void {
  const cutoff = Date.now() - STALE_CACHE_MS;
  try {
    for (const name of readdirSync(dir)) {
      if (!/^mlo-.*\.v8cache(\.\d+\.tmp)?$/.test(name)) continue;
      const file = join(dir, name);
      if (statSync(file).mtimeMs < cutoff) rmSync(file, { force: true });
    }
  } catch {
    // Another process tidying at the same time, or an unreadable folder: tidying is best effort.
  }
}

export interface BundleRun {
  /** Whether V8 used a saved cache (false on the first run, after a rebuild, or when off). */
  cacheUsed: boolean;
  /** The cache file written by this run, if any. */
  cacheWritten?: string;
}

/**
 * Runs `main(argv)` from the bundle at `bundleUrl`; undefined when there is no bundle (the caller
 * then imports dist/cli/main.js). The cache is written after the command, so it holds the functions
 * the command compiled, not only the bundle's top level.
 */
export async function runBundle(argv: string[], options: { bundleUrl?: URL; env?: Env } = {}): Promise<BundleRun | undefined> {
  const env = options.env ?? process.env;
  if (env.MLO_BUNDLE === '0') return undefined;
  const bundlePath = fileURLToPath(options.bundleUrl ?? BUNDLE_URL);
  let source: string;
  try {
    // scripts/bundle.mjs guarantees ASCII, for which latin1 is the same text and faster to decode.
    source = readFileSync(bundlePath, 'latin1');
  } catch {
    return undefined;
  }
  const id = bundleId(source);
  const dir = id ? codeCacheDir(env) : undefined;
  const cacheFile = dir && id ? codeCacheFile(dir, id, bundlePath) : undefined;
  const cachedData = cacheFile ? readOptional(cacheFile) : undefined;
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundlePath,
    // No importModuleDynamically: functions restored from a code cache cannot reach it, so the bundle
    // has no import() (scripts/bundle.mjs turns them into require()).
    cachedData,
  });
  const module = { exports: {} as { main?: (argv: string[]) => Promise<void> } };
  const factory = script.runInThisContext() as (...args: unknown[]) => void;
  factory(module.exports, createRequire(bundlePath), module, bundlePath, dirname(bundlePath));
  if (typeof module.exports.main !== 'function') throw new Error(`${bundlePath} does not export main(); rebuild with npm run build`);
  await module.exports.main(argv);
  const cacheUsed = cachedData !== undefined && !script.cachedDataRejected;
  if (!cacheFile || cacheUsed) return { cacheUsed };
  return saveCodeCache(cacheFile, script.createCachedData()) ? { cacheUsed, cacheWritten: cacheFile } : { cacheUsed };
}

export interface StartupInfo {
  /** The bundle this installation starts from, or undefined (no bundle, or MLO_BUNDLE=0). */
  bundle?: string;
  /** Its code cache file, or undefined when the cache is off. */
  codeCache?: string;
  codeCacheSaved: boolean;
}

/** How `mlo` starts here, for `mlo doctor`. */
export function startupInfo(options: { bundleUrl?: URL; env?: Env } = {}): StartupInfo {
  const env = options.env ?? process.env;
  const bundlePath = fileURLToPath(options.bundleUrl ?? BUNDLE_URL);
  let firstLine: string;
  try {
    // The id is on the first line: no need to read the other ~900 KB.
    const fd = openSync(bundlePath, 'r');
    try {
      const head = Buffer.alloc(40);
      firstLine = head.subarray(0, readSync(fd, head, 0, head.length, 0)).toString('latin1');
    } finally {
      closeSync(fd);
    }
  } catch {
    return { codeCacheSaved: false };
  }
  if (env.MLO_BUNDLE === '0') return { codeCacheSaved: false };
  const id = bundleId(firstLine);
  const dir = codeCacheDir(env);
  const codeCache = id && dir ? codeCacheFile(dir, id, bundlePath) : undefined;
  return { bundle: bundlePath, codeCache, codeCacheSaved: codeCache !== undefined && statSync(codeCache, { throwIfNoEntry: false }) !== undefined };
}
