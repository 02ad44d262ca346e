/**
 * The remotes the end-to-end tests run against, as the user sets them up: a local folder, and S3 over
 * HTTP (s3rver, plus MLO_TEST_S3_ENDPOINT when set). Each test gets a fresh folder or key prefix.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { mloWith, tempDir, type MloResult } from '../helpers.js';
import type { S3Endpoint } from './servers.js';

export interface RemoteKind {
  label: string;
  /** A fresh remote: its URL and the settings `mlo remote modify` must add. */
  fresh(): { url: string; settings: Record<string, string>; handle: RemoteHandle };
  env: Record<string, string>;
}

/** Direct access to what a remote holds, to check and tamper with it behind mlo's back. */
export interface RemoteHandle {
  keys(): Promise<Map<string, number>>;
  read(key: string): Promise<Buffer>;
  write(key: string, bytes: Buffer): Promise<void>;
}

export function localKind(): RemoteKind {
  return {
    label: 'local folder',
    env: {},
    fresh() {
      const dir = join(tempDir('mlo-remote-'), 'store');
      const handle: RemoteHandle = {
        async keys() {
          const out = new Map<string, number>();
          const walk = (rel: string) => {
            let names: string[];
            try {
              names = readdirSync(join(dir, rel));
            } catch {
              return;
            }
            for (const n of names) {
              const r = rel ? `${rel}/${n}` : n;
              const st = statSync(join(dir, r));
              if (st.isDirectory()) walk(r);
              else out.set(r, st.size);
            }
          };
          walk('');
          return out;
        },
        read: async (key) => readFileSync(join(dir, key)),
        async write(key, bytes) {
          mkdirSync(dirname(join(dir, key)), { recursive: true });
          try {
            chmodSync(join(dir, key), 0o644);
          } catch {
            /* new file */
          }
          writeFileSync(join(dir, key), bytes);
        },
      };
      return { url: dir, settings: {}, handle };
    },
  };
}

export function s3Kind(e: S3Endpoint): RemoteKind {
  return {
    label: e.label,
    env: e.env,
    fresh() {
      const prefix = e.freshPrefix();
      const client = e.client();
      const handle: RemoteHandle = {
        async keys() {
          const out = new Map<string, number>();
          let token: string | undefined;
          do {
            const r = await client.send(new ListObjectsV2Command({ Bucket: e.bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
            for (const o of r.Contents ?? []) out.set(o.Key!.slice(prefix.length + 1), Number(o.Size));
            token = r.IsTruncated ? r.NextContinuationToken : undefined;
          } while (token);
          return out;
        },
        async read(key) {
          const r = await client.send(new GetObjectCommand({ Bucket: e.bucket, Key: `${prefix}/${key}` }));
          return Buffer.from(await r.Body!.transformToByteArray());
        },
        async write(key, bytes) {
          await client.send(new PutObjectCommand({ Bucket: e.bucket, Key: `${prefix}/${key}`, Body: bytes }));
        },
      };
      return { url: `s3://${e.bucket}/${prefix}`, settings: { endpoint: e.endpoint }, handle };
    },
  };
}

/** `mlo` with the kind's environment (S3 credentials) and quick retries. */
export function runner(kind: RemoteKind, extraEnv: Record<string, string> = {}) {
  return (cwd: string, ...args: string[]): Promise<MloResult> => mloWith({ cwd, env: { MLO_REMOTE_BACKOFF_MS: '20', ...kind.env, ...extraEnv } }, ...args);
}

/** Adds the kind's fresh remote to the repo at `dir` as the default; returns its handle. */
export async function addRemote(kind: RemoteKind, dir: string, name = 'store'): Promise<RemoteHandle & { url: string }> {
  const { url, settings, handle } = kind.fresh();
  const run = runner(kind);
  const add = await run(dir, 'remote', 'add', '--default', name, url);
  if (add.exitCode !== 0) throw new Error(`remote add failed: ${add.stderr}`);
  for (const [k, v] of Object.entries(settings)) {
    const r = await run(dir, 'remote', 'modify', name, k, v);
    if (r.exitCode !== 0) throw new Error(`remote modify failed: ${r.stderr}`);
  }
  return { ...handle, url };
}

/** Fails with mlo's output when it did not exit as expected. */
export function expectExit(r: MloResult, code: number): MloResult {
  if (r.exitCode !== code) throw new Error(`expected exit ${code}, got ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r;
}
