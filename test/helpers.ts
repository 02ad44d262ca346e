/**
 * Test helpers: temporary git repos built from inline file trees, and a runner for the built
 * `bin/mlo.js` (tests drive the real binary, as users do).
 */
import { execa, type Result } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const MLO_BIN = join(ROOT, 'bin', 'mlo.js');

export type Tree = Record<string, string | Buffer>;

/** Writes `tree` (relative path -> content) under `dir`. */
export function writeTree(dir: string, tree: Tree): void {
  for (const [rel, content] of Object.entries(tree)) {
    const file = join(dir, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

export function tempDir(prefix = 'mlo-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  } catch {
    // Called outside a test (in beforeAll): the caller removes it.
  }
  return dir;
}

export interface MakeRepoOptions {
  /** Run `git init` (default true). */
  git?: boolean;
  /** Run `mlo init` (default true). */
  init?: boolean;
  /** Commit the tree to git after init (default false). */
  commit?: boolean;
}

/** A temporary git repository holding `tree`, with `mlo init` already run. */
export async function makeRepo(tree: Tree = {}, options: MakeRepoOptions = {}): Promise<string> {
  const dir = tempDir();
  if (options.git !== false) await git(dir, 'init', '-q', '-b', 'main');
  writeTree(dir, tree);
  if (options.init !== false) {
    const r = await mlo(dir, 'init', ...(options.git === false ? ['--no-scm'] : []));
    if (r.exitCode !== 0) throw new Error(`mlo init failed: ${r.stderr}`);
  }
  if (options.commit) {
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'initial');
  }
  return dir;
}

export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test User',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test User',
  GIT_COMMITTER_EMAIL: 'test@example.com',
};

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const r = await execa('git', args, { cwd, env: GIT_ENV });
  return r.stdout;
}

export type MloResult = Result<{ reject: false }> & { stdout: string; stderr: string; exitCode: number };

/** Runs the built mlo binary in `cwd`; never throws on a non-zero exit (tests assert on it). */
export async function mlo(cwd: string, ...args: string[]): Promise<MloResult> {
  return mloWith({ cwd }, ...args);
}

export async function mloWith(options: { cwd: string; env?: Record<string, string>; input?: string; timeout?: number }, ...args: string[]): Promise<MloResult> {
  const r = await execa(process.execPath, [MLO_BIN, ...args], {
    cwd: options.cwd,
    env: { ...GIT_ENV, NO_COLOR: '1', ...options.env },
    input: options.input,
    reject: false,
    timeout: options.timeout ?? 120_000,
  });
  return r as unknown as MloResult;
}

/** Parses a --json stdout, with the whole output in the message when it is not JSON. */
export function json<T = any>(r: { stdout: string; stderr: string }): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

export function read(dir: string, rel: string): string {
  return readFileSync(join(dir, rel), 'utf8');
}

export function exists(dir: string, rel: string): boolean {
  return existsSync(join(dir, rel));
}

/** Python 3 with the given modules, or undefined (tests that need it skip with a message). */
export async function pythonWith(...modules: string[]): Promise<string | undefined> {
  for (const py of ['python3', 'python']) {
    const r = await execa(py, ['-c', modules.map((m) => `import ${m}`).join(';') || 'pass'], { reject: false });
    if (r.exitCode === 0) return py;
  }
  return undefined;
}
