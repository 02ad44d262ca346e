/**
 * The S3 endpoints the remote suite runs against: an in-process s3rver on a free port (always), or the
 * endpoint in MLO_TEST_S3_ENDPOINT (moto_server, MinIO, ...) with MLO_TEST_S3_BUCKET (default
 * `mlo-test`, created if missing), MLO_TEST_S3_ACCESS_KEY / MLO_TEST_S3_SECRET_KEY (default
 * S3RVER/S3RVER for s3rver, `test`/`test` for moto) and MLO_TEST_S3_REGION (default us-east-1).
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface S3Endpoint {
  /** What the suite is talking to, for test names. */
  label: string;
  endpoint: string;
  bucket: string;
  region: string;
  accessKey: string;
  secretKey: string;
  /** Environment for the mlo child process (credentials via the standard AWS variables). */
  env: Record<string, string>;
  /** A fresh key prefix, so tests sharing one bucket never see each other's objects. */
  freshPrefix(): string;
  client(): S3Client;
  stop(): Promise<void>;
}

function endpointEnv(accessKey: string, secretKey: string, region: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: accessKey,
    AWS_SECRET_ACCESS_KEY: secretKey,
    AWS_REGION: region,
    // Keep the developer's own AWS config out of the tests.
    AWS_CONFIG_FILE: '/nonexistent/mlo-test-aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/mlo-test-aws-credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

function make(label: string, endpoint: string, bucket: string, accessKey: string, secretKey: string, region: string, stop: () => Promise<void>): S3Endpoint {
  return {
    label,
    endpoint,
    bucket,
    region,
    accessKey,
    secretKey,
    env: endpointEnv(accessKey, secretKey, region),
    freshPrefix: () => `t-${randomBytes(5).toString('hex')}`,
    client: () => new S3Client({ endpoint, region, forcePathStyle: true, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey } }),
    stop,
  };
}

export async function startS3rver(): Promise<S3Endpoint> {
  const dir = mkdtempSync(join(tmpdir(), 'mlo-s3rver-'));
  const bucket = 'mlo-test';
  const script = join(dirname(fileURLToPath(import.meta.url)), 's3rver-server.mjs');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', script, dir, bucket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve((JSON.parse(buf.slice(0, nl)) as { port: number }).port);
    });
    child.on('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return make('s3rver', `http://127.0.0.1:${port}`, bucket, 'S3RVER', 'S3RVER', 'us-east-1', async () => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  });
}

/** The endpoint named by MLO_TEST_S3_ENDPOINT, or undefined. */
export async function externalS3(): Promise<S3Endpoint | undefined> {
  const endpoint = process.env.MLO_TEST_S3_ENDPOINT;
  if (!endpoint) return undefined;
  const bucket = process.env.MLO_TEST_S3_BUCKET ?? 'mlo-test';
  const region = process.env.MLO_TEST_S3_REGION ?? 'us-east-1';
  const e = make(
    `S3 at ${endpoint}`,
    endpoint,
    bucket,
    process.env.MLO_TEST_S3_ACCESS_KEY ?? 'test',
    process.env.MLO_TEST_S3_SECRET_KEY ?? 'test',
    region,
    async () => {},
  );
  const client = e.client();
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
  } finally {
    client.destroy();
  }
  return e;
}

/** s3rver, plus the external endpoint when one is configured (MLO_TEST_S3_ONLY=1: that one only). */
export async function s3Endpoints(): Promise<S3Endpoint[]> {
  const ext = await externalS3();
  if (ext && process.env.MLO_TEST_S3_ONLY === '1') return [ext];
  return ext ? [await startS3rver(), ext] : [await startS3rver()];
}
