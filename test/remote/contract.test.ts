/**
 * The contract every remote passes, run against each kind: a local folder, and S3 over HTTP (s3rver in
 * process, plus MLO_TEST_S3_ENDPOINT when set). In-process: the storage layer is called directly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RemoteIndex } from '../../src/storage/known.js';
import { objectKey } from '../../src/storage/layout.js';
import { findOnRemote } from '../../src/storage/presence.js';
import { createRemote, type CreateRemoteOptions } from '../../src/storage/create.js';
import { parseRemoteSpec, type Remote } from '../../src/storage/remote.js';
import { s3Endpoints } from './servers.js';

const scratch = mkdtempSync(join(tmpdir(), 'mlo-contract-'));
const endpoints = await s3Endpoints();
afterAll(async () => {
  for (const e of endpoints) await e.stop();
  rmSync(scratch, { recursive: true, force: true });
});

interface Kind {
  label: string;
  make(options?: CreateRemoteOptions): Promise<Remote>;
}

const kinds: Kind[] = [
  {
    label: 'local folder',
    make: (options) => {
      const dir = join(scratch, `remote-${randomBytes(4).toString('hex')}`);
      mkdirSync(dir);
      return createRemote('test', parseRemoteSpec('test', { url: dir }, scratch), options);
    },
  },
  ...endpoints.map((e) => ({
    label: e.label,
    make: (options?: CreateRemoteOptions) => {
      const spec = parseRemoteSpec(
        'test',
        {
          url: `s3://${e.bucket}/${e.freshPrefix()}`,
          endpoint: e.endpoint,
          region: e.region,
          access_key_id: e.accessKey,
          secret_access_key: e.secretKey,
        },
        scratch,
      );
      return createRemote('test', spec, options);
    },
  })),
];

function collector() {
  let h = createHash('sha256');
  let n = 0;
  return {
    reset: () => {
      h = createHash('sha256');
      n = 0;
    },
    update: (c: Buffer) => {
      h.update(c);
      n += c.length;
    },
    bytes: () => n,
    digest: () => h.digest('hex'),
  };
}

function file(bytes: Buffer): string {
  const p = join(scratch, `f-${randomBytes(6).toString('hex')}`);
  writeFileSync(p, bytes);
  return p;
}

const hex = (n: number) => randomBytes(n).toString('hex');
const fakeHash = () => hex(32);

async function listAll(remote: Remote, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of remote.list(prefix)) keys.push(...page.map((e) => e.key));
  return keys.sort();
}

describe.each(kinds)('remote contract: $label', (kind) => {
  it('puts, heads, gets and deletes an object, byte for byte', async () => {
    const remote = await kind.make();
    try {
      const bytes = randomBytes(10_000);
      const key = objectKey(fakeHash());
      expect(await remote.head(key)).toBeUndefined();
      let sent = 0;
      await remote.put(key, file(bytes), { onBytes: (n) => (sent += n) });
      expect(sent).toBe(bytes.length);
      expect(await remote.head(key)).toBe(bytes.length);
      const dest = join(scratch, `dl-${hex(4)}`);
      const sink = collector();
      await remote.get(key, dest, { size: bytes.length, sink });
      expect(readFileSync(dest).equals(bytes)).toBe(true);
      if (sink.bytes() > 0) expect(sink.digest()).toBe(createHash('sha256').update(bytes).digest('hex'));
      // Without a known size (a manifest), the streaming download.
      const sink2 = collector();
      await remote.get(key, dest, { sink: sink2 });
      expect(readFileSync(dest).equals(bytes)).toBe(true);
      if (sink2.bytes() > 0) expect(sink2.digest()).toBe(createHash('sha256').update(bytes).digest('hex'));
      // Idempotent: the same object again is not an error.
      await remote.put(key, file(bytes));
      await remote.delete([key]);
      expect(await remote.head(key)).toBeUndefined();
      await remote.delete([key]);
    } finally {
      await remote.close();
    }
  });

  it('reports a missing object as MLO_REMOTE_NOT_FOUND', async () => {
    const remote = await kind.make();
    try {
      await expect(remote.get(objectKey(fakeHash()), join(scratch, `dl-${hex(4)}`))).rejects.toMatchObject({ code: 'MLO_REMOTE_NOT_FOUND' });
    } finally {
      await remote.close();
    }
  });

  it('lists by prefix across pages, and an empty or absent prefix as nothing', async () => {
    const remote = await kind.make({ pageSize: 2 });
    try {
      expect(await listAll(remote, '')).toEqual([]);
      const keys = ['ab/' + hex(31), 'ab/' + hex(31), 'ab/' + hex(31) + '.dir', 'cd/' + hex(31), 'ab' + hex(31) + '/x'];
      for (const k of keys) await remote.put(k, file(Buffer.from(k)));
      expect(await listAll(remote, 'ab/')).toEqual(keys.slice(0, 3).sort());
      expect(await listAll(remote, 'cd/')).toEqual([keys[3]]);
      expect(await listAll(remote, 'ef/')).toEqual([]);
      expect(await listAll(remote, '')).toEqual([...keys].sort());
      let sizes = 0;
      for await (const page of remote.list('cd/')) for (const e of page) sizes += e.size;
      expect(sizes).toBe(Buffer.byteLength(keys[3]));
      await remote.delete(keys);
      expect(await listAll(remote, '')).toEqual([]);
    } finally {
      await remote.close();
    }
  });

  it('moves a large object in parts (multipart upload, ranged download)', async () => {
    const mib = 1 << 20;
    const remote = await kind.make({ tuning: { multipartMin: 5 * mib, partSize: 5 * mib, rangedMin: 1 * mib, rangeSize: 5 * mib } });
    try {
      const bytes = randomBytes(12 * mib + 123);
      const key = objectKey(fakeHash());
      let sent = 0;
      await remote.put(key, file(bytes), { size: bytes.length, onBytes: (n) => (sent += n) });
      expect(sent).toBe(bytes.length);
      expect(await remote.head(key)).toBe(bytes.length);
      const dest = join(scratch, `dl-${hex(4)}`);
      let got = 0;
      const sink = collector();
      await remote.get(key, dest, { size: bytes.length, onBytes: (n) => (got += n), sink });
      expect(got).toBe(bytes.length);
      expect(readFileSync(dest).equals(bytes)).toBe(true);
      // A sink, when fed, saw every byte once and in order.
      if (sink.bytes() > 0) expect(sink.digest()).toBe(createHash('sha256').update(bytes).digest('hex'));
    } finally {
      await remote.close();
    }
  });

  it('finds which objects it holds, whatever the strategy, and counts a wrong size as absent', async () => {
    const remote = await kind.make();
    const index = new RemoteIndex(join(scratch, `idx-${hex(4)}.db`), remote.describe());
    try {
      const held = Array.from({ length: 40 }, () => ({ hash: fakeHash(), size: 3 }));
      for (const h of held) await remote.put(objectKey(h.hash), file(Buffer.from('abc')));
      const absent = Array.from({ length: 30 }, () => ({ hash: fakeHash(), size: 3 }));
      const truncated = { hash: held[0].hash, size: 4 };
      // Few objects: HEAD requests.
      const few = await findOnRemote(remote, [held[1], absent[0], truncated], { jobs: 8 });
      expect(few.strategy).toBe('head');
      expect([...few.present.keys()]).toEqual([held[1].hash]);
      expect(few.missing).toEqual(new Set([absent[0].hash, truncated.hash]));
      // Many objects on a small remote: one listing.
      const many = await findOnRemote(remote, [...held.slice(1), ...absent], { jobs: 8, index, trustIndex: true });
      expect(['full-listing', 'shards']).toContain(many.strategy);
      expect(new Set(many.present.keys())).toEqual(new Set(held.slice(1).map((h) => h.hash)));
      expect(many.missing).toEqual(new Set(absent.map((h) => h.hash)));
      // What a listing confirmed is not asked about again.
      const again = await findOnRemote(remote, held.slice(1), { jobs: 8, index, trustIndex: true });
      expect(again).toMatchObject({ strategy: 'index', requests: 0 });
    } finally {
      index.close();
      await remote.close();
    }
  });
});

describe('what-is-missing query', () => {
  /** A folder remote whose shard `ab/` holds `n` objects: the sample says the remote is big. */
  async function bigRemote(n: number) {
    const dir = join(scratch, `remote-${hex(4)}`);
    mkdirSync(join(dir, 'ab'), { recursive: true });
    for (let i = 0; i < n; i++) writeFileSync(join(dir, 'ab', hex(31)), 'x');
    return createRemote('test', parseRemoteSpec('test', { url: dir }, scratch));
  }
  const inShard = (shard: string) => ({ hash: shard + hex(31), size: 1 });

  it('asks per object when a few objects meet a big remote', async () => {
    const remote = await bigRemote(2500);
    // The first object's shard is sampled (2,500 keys: about 640,000 on the whole remote).
    const wanted = [inShard('ab'), ...Array.from({ length: 39 }, (_, i) => inShard((i + 16).toString(16)))];
    const r = await findOnRemote(remote, wanted, { jobs: 8 });
    expect(r.strategy).toBe('head');
    expect(r.missing.size).toBe(40);
    // One listing of 3 pages, then one HEAD per object outside the sampled shard; never a full listing.
    expect(r.requests).toBe(3 + 39);
  });

  it('lists only the shards in question when many objects fall in few shards', async () => {
    const remote = await bigRemote(2500);
    const wanted = [...Array.from({ length: 20 }, () => inShard('ab')), ...Array.from({ length: 20 }, () => inShard('cd'))];
    const r = await findOnRemote(remote, wanted, { jobs: 8 });
    expect(r.strategy).toBe('shards');
    expect(r.missing.size).toBe(40);
    expect(r.requests).toBe(3 + 1);
  });

  it('lists a small remote once', async () => {
    const dir = join(scratch, `remote-${hex(4)}`);
    mkdirSync(dir);
    const remote = await createRemote('test', parseRemoteSpec('test', { url: dir }, scratch));
    const wanted = Array.from({ length: 5000 }, () => ({ hash: fakeHash(), size: 1 }));
    const r = await findOnRemote(remote, wanted, { jobs: 32 });
    expect(r.strategy).toBe('full-listing');
    expect(r.missing.size).toBe(5000);
    expect(r.requests).toBeLessThanOrEqual(2);
  });
});

describe('local folder remote', () => {
  it('never lists a half-written upload, and stores objects read-only', async () => {
    const dir = join(scratch, `remote-${hex(4)}`);
    const remote = await createRemote('test', parseRemoteSpec('test', { url: `file://${dir}` }, scratch));
    const key = objectKey(fakeHash());
    await remote.put(key, file(Buffer.from('whole')));
    // What a killed upload leaves behind: a temp file beside the objects.
    mkdirSync(join(dir, 'ee'), { recursive: true });
    writeFileSync(join(dir, key.slice(0, 2), '.mlo-tmp-123456'), 'half');
    writeFileSync(join(dir, 'ee', '.mlo-tmp-abcdef'), 'half');
    expect(await listAll(remote, '')).toEqual([key]);
    expect(readdirSync(join(dir, key.slice(0, 2))).length).toBe(2);
    await expect(remote.put(key, file(Buffer.from('again')))).resolves.toBeUndefined();
  });

  it('resolves relative paths against the repository root', () => {
    expect(parseRemoteSpec('r', { url: '../shared/store' }, '/home/u/project')).toMatchObject({ type: 'local', path: '/home/u/shared/store' });
    expect(parseRemoteSpec('r', { url: 'file:///mnt/share/x' }, '/p')).toMatchObject({ type: 'local', path: '/mnt/share/x' });
  });

  it('parses s3 URLs and refuses unknown schemes and credentials in URLs', () => {
    expect(parseRemoteSpec('r', { url: 's3://bucket/a/b/', endpoint: 'http://localhost:9000' }, '/p')).toMatchObject({
      type: 's3',
      bucket: 'bucket',
      prefix: 'a/b',
    });
    expect(parseRemoteSpec('r', { url: 's3://bucket' }, '/p')).toMatchObject({ type: 's3', bucket: 'bucket', prefix: '' });
    expect(() => parseRemoteSpec('r', { url: 'gs://bucket' }, '/p')).toThrow(/unsupported remote URL/);
    expect(() => parseRemoteSpec('r', { url: 's3://KEY:SECRET@bucket/x' }, '/p')).toThrow(/is not an s3:\/\/BUCKET\/PREFIX URL/);
    expect(() => parseRemoteSpec('r', { url: '/x', endpoint: 'http://h' }, '/p')).toThrow(/'endpoint'/);
  });
});
