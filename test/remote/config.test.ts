/** `mlo remote add/list/modify/remove/default` on the built binary, and what `mlo --help` loads. */
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MLO_BIN, exists, json, makeRepo, mlo, tempDir } from '../helpers.js';
import { expectExit } from './kinds.js';

const read = (dir: string, rel: string) => readFileSync(join(dir, rel), 'utf8');

describe('mlo remote', () => {
  it('adds, lists, modifies and removes remotes, keeping the config file readable', async () => {
    const dir = await makeRepo();
    expectExit(await mlo(dir, 'remote', 'add', '--default', 'store', 's3://bucket/team/data'), 0);
    expectExit(await mlo(dir, 'remote', 'modify', 'store', 'endpoint', 'http://localhost:9000'), 0);
    expectExit(await mlo(dir, 'remote', 'modify', 'store', 'path_style', 'false'), 0);
    expectExit(await mlo(dir, 'remote', 'modify', 'store', 'jobs', '16'), 0);
    expectExit(await mlo(dir, 'remote', 'add', 'backup', '../backup'), 0);
    const config = read(dir, '.mlo/config.yaml');
    // The template's comments survive and the remotes are written in block style.
    expect(config).toContain('# mlo project configuration');
    expect(config).toMatch(
      /remotes:\n {2}store:\n {4}url: s3:\/\/bucket\/team\/data\n {4}endpoint: http:\/\/localhost:9000\n {4}path_style: false\n {4}jobs: 16\n/,
    );
    expect(config).toMatch(/core:\n {2}remote: store/);

    const list = json(expectExit(await mlo(dir, 'remote', 'list', '--json'), 0));
    expect(list).toEqual([
      {
        name: 'store',
        url: 's3://bucket/team/data',
        type: 's3',
        default: true,
        settings: { endpoint: 'http://localhost:9000', path_style: false, jobs: 16 },
        file: '.mlo/config.yaml',
      },
      { name: 'backup', url: '../backup', type: 'local', default: false, settings: {}, file: '.mlo/config.yaml' },
    ]);
    expect(expectExit(await mlo(dir, 'remote', 'list'), 0).stdout).toMatch(/store \*\s+s3:\/\/bucket\/team\/data\s+endpoint=http:\/\/localhost:9000/);

    expect(json(expectExit(await mlo(dir, 'remote', 'default', '--json'), 0))).toEqual({ default: 'store' });
    expectExit(await mlo(dir, 'remote', 'default', 'backup'), 0);
    expect(expectExit(await mlo(dir, 'remote', 'default'), 0).stdout.trim()).toBe('backup');

    expectExit(await mlo(dir, 'remote', 'modify', 'store', 'jobs', '--unset'), 0);
    expect(read(dir, '.mlo/config.yaml')).not.toContain('jobs');

    expectExit(await mlo(dir, 'remote', 'remove', 'backup'), 0);
    expect(read(dir, '.mlo/config.yaml')).not.toMatch(/backup|core:\n {2}remote/);
    expect(json(expectExit(await mlo(dir, 'remote', 'list', '--json'), 0)).map((r: { name: string }) => r.name)).toEqual(['store']);
  });

  it('writes credentials only to the git-ignored local config', async () => {
    const dir = await makeRepo();
    expectExit(await mlo(dir, 'remote', 'add', 'store', 's3://bucket/x'), 0);
    const refused = json(expectExit(await mlo(dir, 'remote', 'modify', 'store', 'secret_access_key', 'SECRET', '--json'), 2));
    expect(refused.error.code).toBe('MLO_SECRET_IN_SHARED_CONFIG');
    expect(refused.error.hint).toContain('--local');
    expect(read(dir, '.mlo/config.yaml')).not.toContain('SECRET');

    expectExit(await mlo(dir, 'remote', 'modify', '--local', 'store', 'access_key_id', 'AKIA'), 0);
    expectExit(await mlo(dir, 'remote', 'modify', '--local', 'store', 'secret_access_key', 'SECRET'), 0);
    expect(read(dir, '.mlo/config.local.yaml')).toMatch(/remotes:\n {2}store:\n {4}access_key_id: AKIA\n {4}secret_access_key: SECRET/);
    expect(read(dir, '.mlo/config.yaml')).not.toContain('SECRET');
    expect(read(dir, '.mlo/.gitignore')).toContain('/config.local.yaml');
    const list = json(expectExit(await mlo(dir, 'remote', 'list', '--json'), 0));
    expect(list[0].settings).toEqual({ access_key_id: '***', secret_access_key: '***' });
    expect(expectExit(await mlo(dir, 'remote', 'list'), 0).stdout).not.toContain('SECRET');

    // Removing the remote removes its credentials too (a url-less entry would break the config).
    expectExit(await mlo(dir, 'remote', 'remove', 'store'), 0);
    expect(read(dir, '.mlo/config.local.yaml')).not.toContain('SECRET');
    expectExit(await mlo(dir, 'status'), 0);
  });

  it('refuses bad names, URLs, keys and values without touching the file', async () => {
    const dir = await makeRepo();
    const before = read(dir, '.mlo/config.yaml');
    expect(json(expectExit(await mlo(dir, 'remote', 'add', 'bad name', '/x', '--json'), 2)).error.code).toBe('MLO_USAGE');
    expect(json(expectExit(await mlo(dir, 'remote', 'add', 'r', 'gs://bucket', '--json'), 1)).error.code).toBe('MLO_BAD_REMOTE');
    expectExit(await mlo(dir, 'remote', 'add', 'r', '/tmp/x'), 0);
    expect(json(expectExit(await mlo(dir, 'remote', 'add', 'r', '/tmp/y', '--json'), 1)).error.code).toBe('MLO_REMOTE_EXISTS');
    expectExit(await mlo(dir, 'remote', 'add', '--force', 'r', '/tmp/y'), 0);
    expect(json(expectExit(await mlo(dir, 'remote', 'modify', 'r', 'endpoint', 'http://x', '--json'), 2)).error.message).toMatch(
      /'endpoint' is not a setting of local remotes/,
    );
    expect(json(expectExit(await mlo(dir, 'remote', 'modify', 'r', 'jobs', 'many', '--json'), 2)).error.message).toMatch(/jobs must be a positive number/);
    expect(json(expectExit(await mlo(dir, 'remote', 'modify', 'nope', 'jobs', '2', '--json'), 1)).error.code).toBe('MLO_UNKNOWN_REMOTE');
    expect(json(expectExit(await mlo(dir, 'remote', 'default', 'nope', '--json'), 1)).error.code).toBe('MLO_UNKNOWN_REMOTE');
    expectExit(await mlo(dir, 'remote', 'remove', 'r'), 0);
    expect(read(dir, '.mlo/config.yaml')).toBe(before);
  });

  it('tells which remote to use when several exist and none is the default', async () => {
    const dir = await makeRepo({ 'a.txt': 'a' });
    expectExit(await mlo(dir, 'add', 'a.txt'), 0);
    expectExit(await mlo(dir, 'remote', 'add', 'one', join(tempDir(), 'one')), 0);
    expectExit(await mlo(dir, 'remote', 'add', 'two', join(tempDir(), 'two')), 0);
    const r = json(expectExit(await mlo(dir, 'push', '--json'), 1));
    expect(r.error).toMatchObject({ code: 'MLO_NO_REMOTE' });
    expect(r.error.hint).toMatch(/-r NAME \(one of one, two\)/);
    expect(json(expectExit(await mlo(dir, 'push', '-r', 'two', '--json'), 0))).toMatchObject({ remote: 'two', uploaded: 1 });
    expect(exists(dir, '.mlo/tmp/remote-index/two.db')).toBe(true);
  });
});

describe('start-up', () => {
  it('loads the AWS SDK only for commands that talk to S3', async () => {
    const dir = await makeRepo({ 'a.txt': 'a' });
    // Hooks that report every @aws-sdk module loaded: resolved as an ES module (MLO_BUNDLE=0), or
    // required (the bundle turns import() into require()).
    const hooks = join(tempDir(), 'hooks.mjs');
    writeFileSync(
      hooks,
      `export async function resolve(s, c, next) { if (s.includes('@aws-sdk')) process.stderr.write('LOADED ' + s + '\\n'); return next(s, c); }\n`,
    );
    const register = join(tempDir(), 'register.mjs');
    writeFileSync(
      register,
      `import Module, { register } from 'node:module'; register(${JSON.stringify(`file://${hooks}`)});
      const load = Module._load;
      Module._load = function (request, ...rest) { if (request.includes('@aws-sdk')) process.stderr.write('LOADED ' + request + '\\n'); return load.call(this, request, ...rest); };\n`,
    );
    const run = (...args: string[]) => execa(process.execPath, ['--import', register, MLO_BIN, ...args], { cwd: dir, reject: false });
    expect((await run('--help')).stderr).not.toContain('LOADED');
    expect((await run('push', '--help')).stderr).not.toContain('LOADED');
    await run('add', 'a.txt');
    await run('remote', 'add', '-d', 'folder', join(tempDir(), 'store'));
    const push = await run('push');
    expect(push.exitCode).toBe(0);
    expect(push.stderr).not.toContain('LOADED');
    await run('remote', 'add', '-d', '-f', 'folder', 's3://bucket/x');
    await run('remote', 'modify', 'folder', 'endpoint', 'http://127.0.0.1:9');
    const s3 = await run('push', '-j', '1');
    expect(s3.stderr).toContain('LOADED @aws-sdk/client-s3');
  });
});
