/**
 * The journeys' world: a bare git remote (`origin.git`), a folder mlo remote (`storage/`), and
 * colleagues' clones of the one project, all on default settings. Every step asserts its exit code and
 * prints the command's output when it fails, so a broken journey says where it broke.
 */
import { execa } from 'execa';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { GIT_ENV, json, mlo, tempDir, writeTree, type MloResult, type Tree } from '../helpers.js';

export interface World {
  /** The folder holding everything below. */
  base: string;
  /** The bare git repository everyone pushes to and clones from. */
  origin: string;
  /** The folder remote, the project's default mlo remote (committed in .mlo/config.yaml). */
  storage: string;
}

/** Runs git in `cwd`; throws with git's output when it fails. */
export async function gitOk(cwd: string, ...args: string[]): Promise<string> {
  const r = await execa('git', args, { cwd, env: GIT_ENV, reject: false });
  if (r.exitCode !== 0) throw new Error(`git ${args.join(' ')} failed in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs mlo and asserts the exit code (0 unless told), with the output in the failure message. */
export async function mloExpect(cwd: string, code: number, ...args: string[]): Promise<MloResult> {
  const r = await mlo(cwd, ...args);
  expect(r.exitCode, `mlo ${args.join(' ')} in ${cwd}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(code);
  return r;
}

export const mloOk = (cwd: string, ...args: string[]) => mloExpect(cwd, 0, ...args);

/** `mlo ARGS --json`, asserted to succeed, parsed. */
export async function mloJson<T = any>(cwd: string, ...args: string[]): Promise<T> {
  return json<T>(await mloOk(cwd, ...args, '--json'));
}

/**
 * A new project: `alice` (the first clone, with `mlo init`, the folder remote as default and `tree`
 * committed and pushed to origin's `main`).
 */
export async function newProject(tree: Tree): Promise<World & { alice: string }> {
  const base = tempDir('mlo-journey-');
  const world: World = { base, origin: join(base, 'origin.git'), storage: join(base, 'storage') };
  mkdirSync(world.storage);
  await gitOk(base, 'init', '-q', '--bare', '-b', 'main', world.origin);
  const alice = await cloneAs(world, 'alice');
  await mloOk(alice, 'init');
  await mloOk(alice, 'remote', 'add', '-d', 'storage', world.storage);
  writeTree(alice, tree);
  await gitOk(alice, 'add', '-A');
  await gitOk(alice, 'commit', '-q', '-m', 'project');
  await gitOk(alice, 'push', '-q', 'origin', 'HEAD:main');
  return { ...world, alice };
}

/** A fresh clone of origin's `main` (at `rev` when given), as a colleague or a CI job starts. */
export async function cloneAs(world: World, name: string, rev?: string): Promise<string> {
  const dir = join(world.base, name);
  await gitOk(world.base, 'clone', '-q', world.origin, dir);
  if (rev) await gitOk(dir, 'checkout', '-q', rev);
  return dir;
}

/** What `git add` the run's hint asked for (its --json `toTrack`), committed and pushed to origin. */
export async function shareRun(dir: string, toTrack: string[], message: string): Promise<string> {
  expect(toTrack.length, 'the run named nothing for git to track').toBeGreaterThan(0);
  await gitOk(dir, 'add', '--', ...toTrack);
  await gitOk(dir, 'commit', '-q', '-m', message);
  await gitOk(dir, 'push', '-q', 'origin', 'HEAD:main');
  return (await gitOk(dir, 'rev-parse', 'HEAD')).trim();
}

/** `git status --porcelain` (untracked files listed one by one): empty when git has nothing to commit. */
export async function gitStatus(dir: string): Promise<string> {
  return (await gitOk(dir, 'status', '--porcelain', '-uall')).trim();
}
