/**
 * Fault injection: mlo talks to the S3 server through faulty-proxy.ts, which resets connections,
 * answers 500 and 503 SlowDown, and stalls. Push and pull still complete, or fail with a clear message
 * after the retries; nothing half-uploaded or half-downloaded is ever taken as present.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { git, json, makeRepo, tempDir, type Tree } from '../helpers.js';
import { writeFileSync } from 'node:fs';
import { createRemote } from '../../src/storage/create.js';
import { parseRemoteSpec } from '../../src/storage/remote.js';
import { startFaultyProxy, type Fault, type FaultyProxy } from './faulty-proxy.js';
import { expectExit, runner, s3Kind } from './kinds.js';
import { s3Endpoints, type S3Endpoint } from './servers.js';

const endpoints = await s3Endpoints();
afterAll(async () => {
  for (const e of endpoints) await e.stop();
});

/** Quick retries and a 1 s stall timeout keep the suite short. */
const FAST = { MLO_REMOTE_BACKOFF_MS: '20', MLO_REMOTE_TIMEOUT: '1', MLO_REMOTE_RETRIES: '10' };

function tree(): Tree {
  const t: Tree = { 'model.bin': randomBytes(200_000) };
  for (let i = 0; i < 30; i++) t[`data/part-${String(i).padStart(2, '0')}.bin`] = randomBytes(1_000 + i * 50);
  return t;
}

/** Cache objects of the repo at `dir`: key -> size. */
function cacheObjects(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const cache = join(dir, '.mlo/cache');
  for (const shard of readdirSync(cache)) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    for (const rest of readdirSync(join(cache, shard))) out.set(`${shard}/${rest}`, statSync(join(cache, shard, rest)).size);
  }
  return out;
}

async function setup(e: S3Endpoint, proxy: FaultyProxy, env: Record<string, string>) {
  const kind = s3Kind(e);
  const run = runner(kind, env);
  const dir = await makeRepo(tree());
  expectExit(await run(dir, 'add', 'data', 'model.bin'), 0);
  const { url, handle } = kind.fresh();
  expectExit(await run(dir, 'remote', 'add', '-d', 'store', url), 0);
  expectExit(await run(dir, 'remote', 'modify', 'store', 'endpoint', proxy.url), 0);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'data');
  return { dir, run, remote: handle };
}

async function clone(dir: string): Promise<string> {
  const to = join(tempDir('mlo-clone-'), 'clone');
  await git(dir, 'clone', '-q', dir, to);
  return to;
}

/** Every third request misbehaves, cycling through the faults; stalls only early on (each costs 1 s). */
function mixed(n: number): Fault {
  if (n % 3 !== 1) return 'pass';
  const faults: Fault[] = ['reset', '503', 'reset-upload', '500', 'reset-download', 'stall', '503', 'stall-download'];
  const f = faults[Math.floor(n / 3) % faults.length];
  return (f === 'stall' || f === 'stall-download') && n > 60 ? '503' : f;
}

describe.each(endpoints)('faults between mlo and $label', (e) => {
  // Small objects take mlo's own signed requests unless MLO_S3_SDK_ONLY=1: both paths face the faults.
  it.each<{ path: string; env: Record<string, string> }>([
    { path: 'fast path', env: {} },
    { path: 'AWS SDK only', env: { MLO_S3_SDK_ONLY: '1' } },
  ])('push and pull complete through resets, 500, 503 SlowDown and stalls ($path)', async ({ env }) => {
    const proxy = await startFaultyProxy(e.endpoint, mixed);
    try {
      const { dir, run, remote } = await setup(e, proxy, { ...FAST, ...env });
      const pushed = json(expectExit(await run(dir, 'push', '-j', '8', '--json'), 0));
      expect(pushed.uploaded).toBe(32);
      // Every object on the remote is whole: same size as in the cache.
      expect(await remote.keys()).toEqual(cacheObjects(dir));

      const to = await clone(dir);
      const pulled = json(expectExit(await run(to, 'pull', '-j', '8', '--json'), 0));
      expect(pulled.fetch).toMatchObject({ downloaded: 32, corrupt: [], missing: [] });
      for (const f of [
        'model.bin',
        ...readdirSync(join(dir, 'data'))
          .filter((n) => n.endsWith('.bin'))
          .map((n) => `data/${n}`),
      ]) {
        expect(readFileSync(join(to, f)).equals(readFileSync(join(dir, f))), f).toBe(true);
      }
      expectExit(await run(to, 'fsck'), 0);
      for (const f of ['reset', 'reset-upload', 'reset-download', '500', '503', 'stall', 'stall-download'] as const) {
        expect(proxy.counts[f], f).toBeGreaterThan(0);
      }
    } finally {
      await proxy.stop();
    }
  });

  it('fails with a clear message once the retries are spent, and carries on when run again', async () => {
    const proxy = await startFaultyProxy(e.endpoint, () => '503');
    try {
      const { dir, run, remote } = await setup(e, proxy, { ...FAST, MLO_REMOTE_RETRIES: '3' });
      const r = expectExit(await run(dir, 'push'), 1);
      expect(r.stderr).toMatch(/remote 'store': .* failed after 3 attempts/);
      expect(r.stderr).toMatch(/SlowDown/);
      expect(r.stderr).toMatch(/hint: .*run the command again/);
      expect((await remote.keys()).size).toBe(0);

      // Uploads cut half-way: whatever the server kept is not taken as present.
      proxy.setSchedule(() => 'reset-upload');
      expectExit(await run(dir, 'push'), 1);
      proxy.setSchedule(() => 'pass');
      const again = json(expectExit(await run(dir, 'push', '--json'), 0));
      expect(again.uploaded).toBe(32 - again.present);
      expect(await remote.keys()).toEqual(cacheObjects(dir));
    } finally {
      await proxy.stop();
    }
  });

  it('never keeps a half-downloaded object', async () => {
    const proxy = await startFaultyProxy(e.endpoint, () => 'pass');
    try {
      const { dir, run } = await setup(e, proxy, { ...FAST, MLO_REMOTE_RETRIES: '2' });
      expectExit(await run(dir, 'push'), 0);
      const to = await clone(dir);
      proxy.setSchedule((n, req) => (req.method === 'GET' ? (n % 2 ? 'reset-download' : 'stall-download') : 'pass'));
      const r = expectExit(await run(to, 'pull'), 1);
      expect(r.stderr).toMatch(/remote 'store': download .* failed after 2 attempts/);
      expect(cacheObjects(to).size).toBe(0);
      expect(existsSync(join(to, 'model.bin'))).toBe(false);
      const tmp = join(to, '.mlo/cache/tmp');
      expect(existsSync(tmp) ? readdirSync(tmp) : []).toEqual([]);
      proxy.setSchedule(() => 'pass');
      expectExit(await run(to, 'pull'), 0);
      expect(readFileSync(join(to, 'model.bin')).equals(readFileSync(join(dir, 'model.bin')))).toBe(true);
    } finally {
      await proxy.stop();
    }
  });

  it('moves a large object in parts through the faults (multipart upload, ranged download)', async () => {
    const proxy = await startFaultyProxy(e.endpoint, (n) =>
      n % 3 === 1 ? (['reset', '503', 'reset-upload', '500', 'reset-download'] as Fault[])[Math.floor(n / 3) % 5] : 'pass',
    );
    Object.assign(process.env, FAST);
    const mib = 1 << 20;
    const remote = await createRemote(
      'store',
      parseRemoteSpec(
        'store',
        {
          url: `s3://${e.bucket}/${e.freshPrefix()}`,
          endpoint: proxy.url,
          region: e.region,
          access_key_id: e.accessKey,
          secret_access_key: e.secretKey,
        },
        tempDir(),
      ),
      { jobs: 4, tuning: { multipartMin: 5 * mib, partSize: 5 * mib, rangedMin: 1 * mib, rangeSize: 2 * mib } },
    );
    try {
      const bytes = randomBytes(16 * mib + 7);
      const src = join(tempDir(), 'big.bin');
      writeFileSync(src, bytes);
      const key = `ab/${'c'.repeat(62)}`;
      await remote.put(key, src, { size: bytes.length });
      expect(await remote.head(key)).toBe(bytes.length);
      const dest = join(tempDir(), 'down.bin');
      await remote.get(key, dest, { size: bytes.length });
      expect(readFileSync(dest).equals(bytes)).toBe(true);
      expect(proxy.counts['reset-upload'] + proxy.counts['reset-download'] + proxy.counts['500'] + proxy.counts['503']).toBeGreaterThan(0);
    } finally {
      await remote.close();
      await proxy.stop();
    }
  });
});
