import { describe, expect, it } from 'vitest';
import { parseBrokerUrl } from './broker.js';
import { jobSpecSchema } from './job.js';

const spec = {
  schema: 1,
  run: '0123456789ab',
  name: 'grid-1',
  experiment: 'default',
  commit: 'a'.repeat(40),
  gitUrl: null,
  overrides: [{ file: 'params.yaml', key: 'lr', value: 0.1 }],
  targets: [],
  force: false,
  remote: 'shared',
  command: 'mlo exp run --queue -S lr=0.1',
  submittedBy: null,
};

describe('job spec', () => {
  it('accepts what submit writes', () => {
    expect(jobSpecSchema.parse(spec)).toEqual(spec);
    expect(jobSpecSchema.parse({ ...spec, overrides: [{ file: 'conf/train.yaml', key: 'a.b', value: 'x' }] }).overrides[0].file).toBe('conf/train.yaml');
  });

  it('keeps every params file inside the worktree: a job comes from Redis, which others can write to', () => {
    for (const file of ['../x.yaml', '/etc/passwd', 'a/../../x', '.git/config', 'sub/.mlo/config.local.yaml', 'C:\\x.yaml', 'a\\..\\..\\x']) {
      const r = jobSpecSchema.safeParse({ ...spec, overrides: [{ file, key: 'k', value: 1 }] });
      expect(r.success, file).toBe(false);
    }
  });

  it('refuses a run id or commit that is not hex, and keys it does not know', () => {
    expect(jobSpecSchema.safeParse({ ...spec, run: '../../etc' }).success).toBe(false);
    expect(jobSpecSchema.safeParse({ ...spec, commit: 'HEAD' }).success).toBe(false);
    expect(jobSpecSchema.safeParse({ ...spec, extra: 1 }).success).toBe(false);
  });
});

describe('broker URL', () => {
  it('reads host, port, database, user and password; rediss:// turns TLS on', () => {
    expect(parseBrokerUrl('redis://redis.internal:6380/2')).toEqual({ host: 'redis.internal', port: 6380, db: 2 });
    expect(parseBrokerUrl('redis://127.0.0.1')).toEqual({ host: '127.0.0.1', port: 6379, db: 0 });
    expect(parseBrokerUrl('rediss://worker:p%40ss@[::1]:7000/0')).toEqual({ host: '::1', port: 7000, db: 0, username: 'worker', password: 'p@ss', tls: {} });
    expect(parseBrokerUrl('redis://:secret@h/1')).toEqual({ host: 'h', port: 6379, db: 1, password: 'secret' });
  });

  it('refuses other schemes and database names, without printing the password', () => {
    expect(() => parseBrokerUrl('http://u:secret@h/0')).toThrow(/^queue\.broker 'http:\/\/\*\*\*@h\/0': the scheme is http, not redis or rediss$/);
    expect(() => parseBrokerUrl('redis://h/queue')).toThrow(/'queue' is not a database number/);
    expect(() => parseBrokerUrl('h:6379')).toThrow(/the scheme is h/);
  });
});
