/**
 * The hostile-repository matrix of issue 15: each repository is built and committed the way an
 * attacker would (config keys, symlinks in .mlo, crafted pointers, manifests, lock files, params, run
 * files), cloned, and driven through every command that reads it. A decoy folder beside the clones
 * (the attacker's target: every hostile path points there) must come out with the same checksums, and
 * every refusal must be one clear error: one `error:` line naming the file, no stack, no "bug in mlo".
 * Each repository is built once; its commands run in a loop.
 */
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashBytes } from '../../src/core/data/hash/blake3.js';
import { git, makeRepo, mlo, tempDir, type MloResult } from '../helpers.js';

const ALIAS_BOMB = [
  'a: &a [x, x, x, x, x, x, x, x, x, x]',
  ...['b', 'c', 'd'].map((n, i) => `${n}: &${n} [${Array(10).fill(`*${'abc'[i]}`).join(', ')}]`),
  '',
].join('\n');

const PIPELINE = 'stages:\n  train:\n    cmd: echo trained\n    params: [lr]\n';

/** The data commands: every hostile repository goes through them (they read pointers, lock, config, .mlo/). */
const DATA: string[][] = [
  ['status'],
  ['checkout'],
  ['fetch'],
  ['pull'],
  ['gc', '--workspace'],
  ['gc', '--all-branches'],
  ['gc', '--all-commits'],
  ['gc', '--cloud', '--workspace'],
  ['fsck'],
];

/**
 * Pipeline, tracking and CI: for the repositories whose attack they read (.mlo/, config, mlo.yaml,
 * mlo.lock, params, run files). Pointer and manifest attacks skip them to keep the ring fast on a
 * loaded machine (each command is a process start).
 */
const PIPELINE_COMMANDS: string[][] = [['run'], ['exp', 'show'], ['metrics', 'diff'], ['ci', 'report', '--base', 'HEAD']];

interface Attack {
  name: string;
  /** Changes the attacker's repository (after data/a.csv and data/dir were pushed); returns paths to force-add. */
  build: (origin: string, ctx: { decoy: string; remote: string }) => string[] | undefined;
  /** Also drive run, exp show, metrics diff and ci report. */
  pipeline?: boolean;
  /** Commands that must refuse, and what their one error line must say (the file or key it names). */
  refusedBy: string[];
  names: RegExp;
}

/** A directory manifest as an attacker writes it, stored on the remote under its real hash. */
function plantManifest(remote: string, entries: unknown[]): string {
  const bytes = Buffer.from(JSON.stringify({ schema: 1, entries }));
  const hash = `${hashBytes(bytes)}.dir`;
  mkdirSync(join(remote, hash.slice(0, 2)), { recursive: true });
  writeFileSync(join(remote, hash.slice(0, 2), hash.slice(2)), bytes);
  return hash;
}

function pointer(path: string, hash: string, size: number | string, files?: number): string {
  return `path: ${path}\nhash: ${hash}\nalgo: blake3\nsize: ${size}\n${files === undefined ? '' : `files: ${files}\n`}`;
}

const ATTACKS: Attack[] = [
  {
    name: 'committed cache.dir at the decoy',
    pipeline: true,
    build: (origin, { decoy }) => {
      const file = join(origin, '.mlo/config.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/^cache:\n/m, `cache:\n  dir: ${JSON.stringify(decoy)}\n`));
      return undefined;
    },
    refusedBy: ['status', 'checkout', 'fetch', 'pull', 'gc', 'fsck', 'run'],
    names: /cache\.dir/,
  },
  {
    name: 'symlink .mlo/cache to the decoy',
    pipeline: true,
    build: (origin, { decoy }) => {
      rmSync(join(origin, '.mlo/cache'), { recursive: true, force: true });
      symlinkSync(decoy, join(origin, '.mlo/cache'));
      return ['.mlo/cache'];
    },
    refusedBy: ['status', 'checkout', 'fetch', 'pull', 'gc', 'fsck', 'run', 'exp', 'metrics', 'ci'],
    names: /\.mlo\/cache is a symlink/,
  },
  {
    name: 'symlink .mlo/tmp to the decoy',
    pipeline: true,
    build: (origin, { decoy }) => {
      rmSync(join(origin, '.mlo/tmp'), { recursive: true, force: true });
      symlinkSync(decoy, join(origin, '.mlo/tmp'));
      return ['.mlo/tmp'];
    },
    refusedBy: ['status', 'checkout', 'fetch', 'pull', 'gc', 'fsck', 'run', 'exp', 'metrics', 'ci'],
    names: /\.mlo\/tmp is a symlink/,
  },
  {
    name: 'symlink .mlo/tracking/runs to the decoy',
    pipeline: true,
    build: (origin, { decoy }) => {
      mkdirSync(join(origin, '.mlo/tracking'), { recursive: true });
      symlinkSync(decoy, join(origin, '.mlo/tracking/runs'));
      return ['.mlo/tracking/runs'];
    },
    refusedBy: ['status', 'checkout', 'exp'],
    names: /\.mlo\/tracking\/runs is a symlink/,
  },
  {
    name: 'pointer whose path climbs out of the repository',
    build: (origin) => {
      writeFileSync(join(origin, 'evil.mlo'), pointer('../decoy/planted', 'a'.repeat(64), 3));
      return undefined;
    },
    refusedBy: ['status', 'checkout', 'fetch', 'pull', 'gc', 'fsck'],
    names: /evil\.mlo:\d+: path: must be a relative path inside the repository/,
  },
  {
    name: 'pointer with size 1e300',
    build: (origin) => {
      const file = join(origin, 'data/a.csv.mlo');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/^size: .*$/m, 'size: 1e300'));
      return undefined;
    },
    refusedBy: ['status', 'checkout', 'fetch', 'pull', 'gc', 'fsck'],
    names: /data\/a\.csv\.mlo:\d+: size: must be a whole number from 0 to 9007199254740991/,
  },
  {
    name: 'pointer with a negative size',
    build: (origin) => {
      const file = join(origin, 'data/a.csv.mlo');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/^size: .*$/m, 'size: -8'));
      return undefined;
    },
    refusedBy: ['status', 'checkout', 'fetch', 'pull', 'gc', 'fsck'],
    names: /data\/a\.csv\.mlo:\d+: size: must be a whole number/,
  },
  {
    name: 'pointer whose size disagrees with its object',
    build: (origin) => {
      const file = join(origin, 'data/a.csv.mlo');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/^size: .*$/m, 'size: 4096'));
      return undefined;
    },
    // The download is refused (its length is not the recorded one); status, fsck and checkout with the
    // object already in the cache: bounds.test.ts.
    refusedBy: ['fetch', 'pull'],
    names: /\(needed by data\/a\.csv\): 8 bytes instead of 4096/,
  },
  {
    name: 'manifest with a path listed twice',
    build: (origin, { remote }) => {
      const e = { hash: 'b'.repeat(64), size: 1 };
      const hash = plantManifest(remote, [
        { path: 'x', ...e },
        { path: 'x', ...e },
      ]);
      writeFileSync(join(origin, 'evil.mlo'), pointer('evil', hash, 2, 2));
      return undefined;
    },
    refusedBy: ['fetch', 'pull'],
    names: /directory manifest [0-9a-f]{12}.*: entries\.1\.path: 'x' is listed twice/,
  },
  {
    name: 'manifest out of order',
    build: (origin, { remote }) => {
      const e = { hash: 'b'.repeat(64), size: 1 };
      const hash = plantManifest(remote, [
        { path: 'z', ...e },
        { path: 'a', ...e },
      ]);
      writeFileSync(join(origin, 'evil.mlo'), pointer('evil', hash, 2, 2));
      return undefined;
    },
    refusedBy: ['fetch', 'pull'],
    names: /directory manifest [0-9a-f]{12}.*: entries\.1\.path: 'a' is out of order/,
  },
  {
    name: 'manifest placing a .mlo file',
    build: (origin, { remote }) => {
      const hash = plantManifest(remote, [{ path: 'sub/x.mlo', hash: 'b'.repeat(64), size: 1 }]);
      writeFileSync(join(origin, 'evil.mlo'), pointer('evil', hash, 1, 1));
      return undefined;
    },
    refusedBy: ['fetch', 'pull'],
    names: /directory manifest [0-9a-f]{12}.*: entries\.0\.path: 'sub\/x\.mlo' ends in \.mlo/,
  },
  {
    name: 'manifest whose path climbs out',
    build: (origin, { remote }) => {
      const hash = plantManifest(remote, [{ path: '../../decoy/planted', hash: 'b'.repeat(64), size: 1 }]);
      writeFileSync(join(origin, 'evil.mlo'), pointer('evil', hash, 1, 1));
      return undefined;
    },
    refusedBy: ['fetch', 'pull'],
    names: /directory manifest [0-9a-f]{12}.*: entries\.0\.path: must be a relative path inside the repository/,
  },
  {
    name: 'mlo.lock whose out climbs out',
    pipeline: true,
    build: (origin) => {
      writeFileSync(join(origin, 'mlo.yaml'), PIPELINE);
      writeFileSync(join(origin, 'params.yaml'), 'lr: 0.1\n');
      writeFileSync(
        join(origin, 'mlo.lock'),
        `schema: 1\nstages:\n  train:\n    cmd: echo\n    outs:\n      - path: ../decoy/planted\n        hash: ${'c'.repeat(64)}\n        size: 1\n`,
      );
      return undefined;
    },
    // run treats an entry that breaks the lock schema as a stage that never ran: it runs it again and
    // rewrites the entry (the decoy check above shows nothing was written outside).
    refusedBy: ['status', 'checkout', 'fetch', 'pull', 'gc', 'fsck'],
    names: /mlo\.lock:\d+: .*must be a relative path inside the repository/,
  },
  {
    name: 'workspace symlink where checkout writes',
    build: (origin, { decoy }) => {
      // A committed link to the decoy, and a pointer that tracks a file behind it.
      symlinkSync(decoy, join(origin, 'linked'));
      const text = readFileSync(join(origin, 'data/a.csv.mlo'), 'utf8');
      writeFileSync(join(origin, 'pwn.mlo'), text.replace(/^path: .*$/m, 'path: linked/planted.csv'));
      return undefined;
    },
    refusedBy: ['checkout', 'pull'],
    names: /linked/,
  },
  {
    name: 'params alias bomb',
    pipeline: true,
    build: (origin) => {
      writeFileSync(join(origin, 'mlo.yaml'), PIPELINE);
      writeFileSync(join(origin, 'params.yaml'), ALIAS_BOMB);
      return undefined;
    },
    refusedBy: ['run', 'ci'],
    names: /params\.yaml: too many YAML alias expansions/,
  },
  {
    name: 'mlo.yaml alias bomb',
    pipeline: true,
    build: (origin) => {
      writeFileSync(join(origin, 'mlo.yaml'), ALIAS_BOMB);
      return undefined;
    },
    refusedBy: ['run', 'metrics', 'ci'],
    names: /mlo\.yaml: too many YAML alias expansions/,
  },
  {
    name: 'run file with a 5 MB text metric and one that is not JSON',
    pipeline: true,
    build: (origin) => {
      const runs = join(origin, '.mlo/tracking/runs');
      mkdirSync(runs, { recursive: true });
      const run = {
        schema: 1,
        id: 'aaaaaaaaaaaa',
        experiment: 'default',
        name: null,
        status: 'finished',
        start_time: 1,
        end_time: 2,
        git_commit: null,
        branch: null,
        dirty: null,
        command: null,
        user: null,
        host: null,
        source: null,
        params: {},
        tags: {},
        metrics: { note: { step: [0], value: ['z'.repeat(5_000_000)], ts: [1] } },
        lineage: [{ direction: 'out', path: '../decoy/planted', hash: 'd'.repeat(64) }],
      };
      writeFileSync(join(runs, 'aaaaaaaaaaaa.json'), JSON.stringify(run));
      writeFileSync(join(runs, 'bbbbbbbbbbbb.json'), '{"schema": 1, "id": ');
      return ['.mlo/tracking/runs'];
    },
    refusedBy: ['exp'],
    names: /\.mlo\/tracking\/runs\/bbbbbbbbbbbb\.json: invalid JSON/,
  },
];

/** Every entry under `dir` with type, size, mtime and content hash. */
function checksums(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      if (st.isDirectory()) {
        out.push(`${r}/ ${st.mtimeMs}`);
        walk(r);
      } else if (st.isSymbolicLink()) out.push(`${r} -> ${readlinkSync(join(dir, r))}`);
      else
        out.push(
          `${r} ${st.size} ${st.mtimeMs} ${createHash('sha256')
            .update(readFileSync(join(dir, r)))
            .digest('hex')}`,
        );
    }
  };
  walk('');
  return out;
}

function errorLines(r: MloResult): string[] {
  return r.stderr.split('\n').filter((l) => l.startsWith('error:'));
}

let base: string;
let decoy: string;
let decoyBefore: string[];
/** The attacker's starting point, built once: data/a.csv and data/dir pushed to the folder remote `store`. */
let seed: string;
let remote: string;

beforeAll(() => {
  base = tempDir('mlo-hostile-');
  decoy = join(base, 'decoy');
  // A folder an attacker wants written or emptied: old tmp entries, an object-like name, a plain file.
  for (const [rel, text] of [
    ['precious.txt', 'precious\n'],
    ['tmp/keep/file', 'kept\n'],
    [`ab/${'c'.repeat(62)}`, 'not an object\n'],
  ]) {
    mkdirSync(join(decoy, rel, '..'), { recursive: true });
    writeFileSync(join(decoy, rel), text);
  }
  decoyBefore = checksums(decoy);
});

beforeAll(async () => {
  remote = join(base, 'remote');
  mkdirSync(remote);
  seed = await makeRepo({ 'data/a.csv': 'x,y\n1,2\n', 'data/dir/f.txt': 'f\n' });
  for (const args of [['remote', 'add', '--default', 'store', remote], ['add', 'data/a.csv', 'data/dir'], ['push']]) {
    const r = await mlo(seed, ...args);
    if (r.exitCode !== 0) throw new Error(`mlo ${args.join(' ')}: ${r.stderr}`);
  }
  await git(seed, 'add', '-A');
  await git(seed, 'commit', '-q', '-m', 'data');
}, 120_000);

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
  if (seed) rmSync(seed, { recursive: true, force: true });
});

/**
 * The attacker's repository: the seed, then the attack, committed and cloned. The remote is shared:
 * objects are named by their hash, so a manifest planted for one case is never read by another.
 */
async function cloneOf(attack: Attack, n: number): Promise<string> {
  const origin = join(base, `origin-${n}`);
  await git(base, 'clone', '-q', seed, origin);
  const forced = attack.build(origin, { decoy, remote }) ?? [];
  await git(origin, 'add', '-A');
  if (forced.length) await git(origin, 'add', '-f', ...forced);
  await git(origin, 'commit', '-q', '-m', 'hostile');
  const clone = join(base, `clone-${n}`);
  await git(origin, 'clone', '-q', origin, clone);
  return clone;
}

describe('hostile repository matrix', () => {
  it.each(ATTACKS.map((a, i) => [a.name, a, i] as const))(
    '%s: every command leaves the decoy alone; refusals are one clear line',
    async (_name, attack, n) => {
      const clone = await cloneOf(attack, n);
      const refused = new Set<string>();
      const log: string[] = [];
      for (const args of attack.pipeline ? [...DATA, ...PIPELINE_COMMANDS] : DATA) {
        const r = await mlo(clone, ...args);
        const what = `${attack.name}: mlo ${args.join(' ')} (exit ${r.exitCode})\nstdout:\n${r.stdout.slice(0, 2000)}\nstderr:\n${r.stderr.slice(0, 2000)}`;
        expect(checksums(decoy), what).toEqual(decoyBefore);
        expect(r.stderr, what).not.toMatch(/bug in mlo|\n\s+at .*\(/);
        expect([0, 1, 2], what).toContain(r.exitCode);
        // A command's output is bounded whatever the repository holds (the 5 MB metric is cut to 1 KiB).
        expect(r.stdout.length + r.stderr.length, what).toBeLessThan(100_000);
        const errors = errorLines(r);
        log.push(`mlo ${args.join(' ')}: exit ${r.exitCode} ${errors[0] ?? ''}`);
        // `metrics diff` reports a comparison it could not make as its result (stdout, exit 1), not as an error.
        const report = args[0] === 'metrics' && errors.length === 0 && /^(Could not compare|Incomplete comparison)/m.test(r.stdout);
        if (r.exitCode !== 0 && !report) expect(errors, what).toHaveLength(1);
        // `ci report` reports a section it cannot read inside the report (it exits 0 unless --fail-on).
        if (errors.some((l) => attack.names.test(l)) || (args[0] === 'ci' && attack.names.test(r.stdout))) refused.add(args[0]);
      }
      // Each command that reads the hostile file refused it by name (doctor reports it instead).
      expect([...refused].sort(), `${attack.name}\n${log.join('\n')}`).toEqual(expect.arrayContaining([...attack.refusedBy].sort()));
      const doctor = await mlo(clone, 'doctor', '--json');
      expect(JSON.parse(doctor.stdout).mlo, attack.name).toBeTruthy();
    },
    180_000,
  );
});
