/** templates/queue: the worker entry script (run for real, with mlo on PATH) and the deployment files. */
import { execa } from 'execa';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { GIT_ENV, MLO_BIN, ROOT, git, makeRepo, mloWith, tempDir } from '../helpers.js';
import { freePort } from './redis.js';

const TEMPLATES = join(ROOT, 'templates', 'queue');

describe('templates/queue', () => {
  it('worker.sh names what is missing, then clones the repository and hands over to mlo queue worker', async () => {
    const script = join(TEMPLATES, 'worker.sh');
    const bare = await execa('sh', [script], { env: { PATH: process.env.PATH ?? '' }, reject: false });
    expect(bare.exitCode).not.toBe(0);
    expect(bare.stderr).toMatch(/MLO_REPO_URL/);

    const repo = await makeRepo({ 'params.yaml': 'lr: 1\n' });
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-q', '-m', 'init');
    const bin = tempDir();
    writeFileSync(join(bin, 'mlo'), `#!/bin/sh\nexec "${process.execPath}" "${MLO_BIN}" "$@"\n`);
    chmodSync(join(bin, 'mlo'), 0o755);
    const work = tempDir();
    const port = await freePort();
    const r = await execa('sh', [script], {
      env: {
        ...GIT_ENV,
        PATH: `${bin}:${process.env.PATH}`,
        NO_COLOR: '1',
        MLO_REPO_URL: repo,
        MLO_WORK: work,
        MLO_QUEUE_BROKER: `redis://127.0.0.1:${port}/0`,
      },
      reject: false,
    });
    expect(existsSync(join(work, 'repo', 'params.yaml'))).toBe(true);
    // The worker ran and reported the broker it cannot use (nothing listens there), in one error.
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: the queue broker (redis:\/\/127\.0\.0\.1:\d+\/0 cannot be reached|needs the Redis client ioredis)/m);
  });

  it('queue worker --clone makes its clone, reuses it, and refuses a folder holding something else', async () => {
    const repo = await makeRepo({ 'params.yaml': 'lr: 1\n' });
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-q', '-m', 'init');
    const work = join(tempDir(), 'w');
    const port = await freePort();
    const env = { MLO_QUEUE_BROKER: `redis://127.0.0.1:${port}/0` };
    for (let i = 0; i < 2; i++) {
      const r = await mloWith({ cwd: tempDir(), env }, 'queue', 'worker', '--clone', repo, '--work', work);
      expect(existsSync(join(work, 'params.yaml'))).toBe(true);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^error: the queue broker (redis:\/\/127\.0\.0\.1:\d+\/0 cannot be reached|needs the Redis client ioredis)/m);
    }
    const other = await makeRepo({});
    const wrong = await mloWith({ cwd: tempDir(), env }, 'queue', 'worker', '--clone', other, '--work', work);
    expect(wrong.exitCode).toBe(1);
    expect(wrong.stderr).toMatch(/^error: \S+ holds a clone of \S+, not of \S+/);
    const usage = await mloWith({ cwd: tempDir(), env }, 'queue', 'worker', '--work', work);
    expect(usage.exitCode).toBe(2);
  });

  it('the Kubernetes Deployment reads the broker, repository and remote credentials from a Secret', () => {
    const docs = parseAllDocuments(readFileSync(join(TEMPLATES, 'deployment.yaml'), 'utf8')).map((d) => d.toJS());
    const secret = docs.find((d) => d.kind === 'Secret');
    const deployment = docs.find((d) => d.kind === 'Deployment');
    expect(Object.keys(secret.stringData).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'MLO_QUEUE_BROKER', 'MLO_REPO_URL']);
    const pod = deployment.spec.template.spec;
    expect(pod.containers[0].envFrom).toEqual([{ secretRef: { name: secret.metadata.name } }]);
    expect(pod.containers[0].env.map((e: { name: string }) => e.name)).toContain('MLO_CONCURRENCY');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(60);
  });

  it('docker-compose runs Redis with a password and persistence, and workers that get its URL', () => {
    const compose = parse(readFileSync(join(TEMPLATES, 'docker-compose.yaml'), 'utf8'));
    expect(compose.services.redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--requirepass']));
    expect(compose.services.worker.environment.MLO_QUEUE_BROKER).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD\}@redis:6379\/0$/);
    expect(compose.services.worker.build.dockerfile).toBe('templates/queue/Dockerfile');
    expect(readFileSync(join(TEMPLATES, 'Dockerfile'), 'utf8')).toMatch(/""\|mlo\|mlo@\*\) echo "MLO_PACKAGE must be/);
  });
});
