// Issue 15, item 2: a tracked folder whose manifest is gone from the cache (removed by `fsck --remove`
// after it was damaged, or deleted by hand). Nobody can tell which file objects the folder needs, and
// in `cache.type: symlink` (or hardlink) those objects are the workspace's only copy: every local gc
// scope must refuse and delete nothing, and status and fsck must report the damage.
import { chmodSync, appendFileSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, json, makeRepo, mlo } from '../helpers.js';

const TREE = { 'data/a.txt': 'alpha\n', 'data/sub/b.txt': 'beta\n', 'notes.txt': 'kept\n' };
const SCOPES = [['--workspace'], ['--all-branches'], ['--all-commits'], ['--rev', 'HEAD']];
const TYPES = ['copy', 'symlink', 'hardlink'] as const;

/** The cache's objects and the tracked folder's files with their content (or link target): what must not change. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = e.isSymbolicLink() ? `-> ${readlinkSync(p)}` : readFileSync(p, 'base64');
    }
  };
  for (const shard of readdirSync(join(dir, '.mlo/cache'))) if (/^[0-9a-f]{2}$/.test(shard)) walk(join(dir, '.mlo/cache', shard));
  if (existsSync(join(dir, 'data'))) walk(join(dir, 'data'));
  return out;
}

function manifestPath(dir: string): string {
  const hash = /^hash: (\S+)$/m.exec(readFileSync(join(dir, 'data.mlo'), 'utf8'))![1];
  return join(dir, '.mlo/cache', hash.slice(0, 2), hash.slice(2));
}

/** Link types this filesystem supports, as `mlo version` probes them. */
async function supportedTypes(): Promise<string[]> {
  const dir = await makeRepo();
  return json(await mlo(dir, 'version', '--json')).repo.supportedLinkTypes;
}

/** A committed repository tracking `data/` with the given cache type. */
async function trackedRepo(type: (typeof TYPES)[number]): Promise<string> {
  const dir = await makeRepo(TREE);
  writeFileSync(join(dir, '.mlo/config.local.yaml'), `cache:\n  type: ${type}\n`);
  const added = await mlo(dir, 'add', 'data', 'notes.txt');
  expect(added.exitCode, added.stderr).toBe(0);
  if (type === 'symlink') expect(lstatSync(join(dir, 'data/a.txt')).isSymbolicLink()).toBe(true);
  if (type === 'hardlink') expect(statSync(join(dir, 'data/a.txt')).nlink).toBeGreaterThan(1);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'track data');
  return dir;
}

const LOSE = {
  /** Damaged, then removed by `mlo fsck --remove`, which must itself report the folder it leaves without a manifest. */
  'fsck --remove': async (dir: string) => {
    const manifest = manifestPath(dir);
    chmodSync(manifest, 0o644);
    appendFileSync(manifest, ' ');
    const r = await mlo(dir, 'fsck', '--remove', '--json');
    expect(r.exitCode, r.stderr).toBe(1);
    const err = json(r);
    expect(err.error.code).toBe('MLO_CORRUPT_CACHE');
    expect(err.error.message).toContain('the manifest of data is not in the cache');
    expect(err.result.missingManifests).toEqual([expect.objectContaining({ path: 'data', source: 'data.mlo' })]);
  },
  'deleted by hand': async (dir: string) => {
    rmSync(manifestPath(dir));
  },
};

const supported = await supportedTypes();

describe.each(TYPES)('cache.type %s, a tracked folder without its manifest', (type) => {
  it.skipIf(!supported.includes(type)).each(Object.keys(LOSE) as (keyof typeof LOSE)[])(
    'manifest %s: every gc scope refuses and deletes nothing',
    async (how) => {
      const dir = await trackedRepo(type);
      // status was clean before: the snapshot remembers the folder as present in the cache.
      expect(json(await mlo(dir, 'status', '--json')).clean).toBe(true);
      await LOSE[how](dir);
      const before = snapshot(dir);

      for (const scope of SCOPES) {
        const r = await mlo(dir, 'gc', ...scope);
        expect(r.exitCode, `gc ${scope.join(' ')}: ${r.stdout}${r.stderr}`).toBe(1);
        const lines = r.stderr.trim().split('\n');
        expect(lines[0]).toMatch(/^error: gc refused: the manifest of data \(data\.mlo[^)]*, manifest [0-9a-f]{12}\) is not in the cache/);
        expect(lines[1]).toMatch(/^hint: .*mlo fetch.*--force/);
        expect(lines).toHaveLength(2);
        expect(r.stderr).not.toMatch(/\bat .*\.(js|cjs|ts):\d+/);
      }
      expect(json(await mlo(dir, 'gc', '--all-commits', '--json')).error.code).toBe('MLO_UNKNOWN_MANIFEST');
      // --dry warns and deletes nothing either.
      const dry = await mlo(dir, 'gc', '--workspace', '--dry');
      expect(dry.exitCode, dry.stderr).toBe(0);
      expect(dry.stderr).toContain('the manifest of data (data.mlo');
      expect(snapshot(dir)).toEqual(before);
      expect(readFileSync(join(dir, 'data/sub/b.txt'), 'utf8')).toBe('beta\n');

      // status: damage, not "up to date" (status reports, so it exits 0 as for content not in the cache).
      const status = await mlo(dir, 'status');
      expect(status.exitCode, status.stderr).toBe(0);
      expect(status.stdout).not.toContain('up to date');
      expect(status.stdout).toMatch(/manifest missing: data \(data\.mlo\)/);
      const st = json(await mlo(dir, 'status', '--json'));
      expect(st.clean).toBe(false);
      expect(st.entries.find((e: { path: string }) => e.path === 'data')).toMatchObject({ manifestMissing: true, inCache: false });
      expect(st.entries.find((e: { path: string }) => e.path === 'notes.txt')).toMatchObject({ manifestMissing: false, inCache: true });

      // fsck: exit 1, one error naming the folder.
      const fsck = await mlo(dir, 'fsck');
      expect(fsck.exitCode).toBe(1);
      expect(fsck.stdout).toMatch(/manifest missing: [0-9a-f]{64}\.dir \(directory data, data\.mlo\)/);
      expect(fsck.stderr).toMatch(/^error: 1 tracked directory cannot be listed: the manifest of data is not in the cache\nhint: .*mlo fetch/);
      expect(json(await mlo(dir, 'fsck', '--json')).error.code).toBe('MLO_MISSING_MANIFEST');
      expect(snapshot(dir)).toEqual(before);

      // Adding the folder again writes the manifest back; then gc runs and keeps the folder's files.
      expect((await mlo(dir, 'add', 'data')).exitCode).toBe(0);
      expect(json(await mlo(dir, 'status', '--json')).clean).toBe(true);
      expect((await mlo(dir, 'fsck')).exitCode).toBe(0);
      const gc = await mlo(dir, 'gc', '--all-commits');
      expect(gc.exitCode, gc.stderr).toBe(0);
      expect(readFileSync(join(dir, 'data/sub/b.txt'), 'utf8')).toBe('beta\n');
      expect(readFileSync(join(dir, 'data/a.txt'), 'utf8')).toBe('alpha\n');
    },
  );
});

describe('gc with a manifest missing only at an old revision', () => {
  it('refuses in the scopes that include that revision, runs in the others, and --force goes on', async () => {
    const dir = await trackedRepo('copy');
    const oldManifest = manifestPath(dir);
    const first = (await git(dir, 'rev-parse', 'HEAD')).trim();
    writeFileSync(join(dir, 'data/c.txt'), 'gamma\n');
    expect((await mlo(dir, 'add', 'data')).exitCode).toBe(0);
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '-q', '-m', 'more data');
    rmSync(oldManifest);
    const before = snapshot(dir);

    for (const scope of [['--all-commits'], ['--rev', first]]) {
      const r = await mlo(dir, 'gc', ...scope);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toContain(`the manifest of data (data.mlo at ${first.slice(0, 10)}, manifest`);
    }
    expect(snapshot(dir)).toEqual(before);
    // The workspace's folder has its manifest: nothing in scope is unknown.
    const ws = await mlo(dir, 'gc', '--workspace', '--dry');
    expect(ws.exitCode, ws.stderr).toBe(0);
    expect(ws.stderr).toBe('');

    const forced = await mlo(dir, 'gc', '--all-commits', '--force');
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('its files were not kept for it (--force)');
    expect(json(await mlo(dir, 'status', '--json')).clean).toBe(true);
  });
});

describe('a cloned repository whose pointer names a folder that was never fetched', () => {
  it('status says to pull it, and gc refuses (one clear error) and deletes nothing', async () => {
    const origin = await trackedRepo('copy');
    const clone = await makeRepo({}, { git: false, init: false });
    await git(clone, 'clone', '-q', origin, 'c');
    const dir = join(clone, 'c');
    writeFileSync(join(dir, 'mine.txt'), 'my own data\n');
    expect((await mlo(dir, 'add', 'mine.txt')).exitCode).toBe(0);
    const before = snapshot(dir);

    const status = await mlo(dir, 'status');
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/manifest missing: data \(data\.mlo\): .* run mlo pull; until then mlo gc refuses to run/);
    const gc = await mlo(dir, 'gc', '--workspace');
    expect(gc.exitCode).toBe(1);
    expect(json(await mlo(dir, 'gc', '--workspace', '--json')).error.code).toBe('MLO_UNKNOWN_MANIFEST');
    expect(snapshot(dir)).toEqual(before);
  });
});
