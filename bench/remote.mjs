// Remote benchmarks (issue 3): mlo push/pull against `aws s3 sync` / `aws s3 cp` (the AWS CLI), both
// talking to the same local s3rver over HTTP. Targets: pushing 5,000 objects of 4 KiB at least 2x
// faster; pushing and pulling one 1 GiB object no slower. One run each (two shared cores: noisy).
// `node bench/remote.mjs`; BENCH_QUICK=1 for a smoke run (500 objects, 64 MiB).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MLO, QUICK, ROOT, fmt, has, report, timeRun } from './lib.mjs';

const SMALL_COUNT = QUICK ? 500 : 5000;
const SMALL_SIZE = 4096;
const BIG_SIZE = QUICK ? 64 << 20 : 1 << 30;
const BUCKET = 'bench';

if (!has('aws')) {
  console.log('bench/remote: the AWS CLI (aws) is not installed; nothing to compare against');
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'mlo-bench-remote-'));
const s3dir = join(work, 's3rver');
mkdirSync(s3dir);

// s3rver in its own process (its continuation tokens need OpenSSL's legacy provider).
const server = spawn(process.execPath, ['--openssl-legacy-provider', join(ROOT, 'test/remote/s3rver-server.mjs'), s3dir, BUCKET], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise((resolve, reject) => {
  let buf = '';
  server.stdout.on('data', (c) => {
    buf += c;
    if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0]).port);
  });
  server.on('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
});
const endpoint = `http://127.0.0.1:${port}`;
const env = {
  ...process.env,
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_REGION: 'us-east-1',
  AWS_CONFIG_FILE: '/nonexistent',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@b',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@b',
};
const mlo = (cwd, ...args) => timeRun(process.execPath, [MLO, ...args], { cwd, env });
const aws = (...args) => timeRun('aws', ['--endpoint-url', endpoint, ...args], { env });
const run = (cmd, args, cwd) => {
  const r = spawnSync(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
};

/** A committed repo with `files` tracked as `what`, and a remote at s3://bench/<prefix>. */
function repoWith(name, write, what, prefix) {
  const dir = join(work, name);
  mkdirSync(dir);
  run('git', ['init', '-q', '-b', 'main'], dir);
  mlo(dir, 'init', '-q');
  write(dir);
  mlo(dir, 'add', '-q', what);
  mlo(dir, 'remote', 'add', '-d', 'bench', `s3://${BUCKET}/${prefix}`);
  mlo(dir, 'remote', 'modify', 'bench', 'endpoint', endpoint);
  run('git', ['add', '-A'], dir);
  run('git', ['commit', '-q', '-m', 'data'], dir);
  return dir;
}

function clone(dir, name) {
  const to = join(work, name);
  run('git', ['clone', '-q', dir, to], work);
  return to;
}

try {
  // 1. Many small objects.
  const small = repoWith(
    'small',
    (dir) => {
      mkdirSync(join(dir, 'data'));
      for (let i = 0; i < SMALL_COUNT; i++) writeFileSync(join(dir, 'data', `f${String(i).padStart(5, '0')}.bin`), randomBytes(SMALL_SIZE));
    },
    'data',
    'mlo-small',
  );
  const mloPushSmall = mlo(small, 'push', '-q');
  const awsPushSmall = aws('s3', 'sync', '--only-show-errors', join(small, 'data'), `s3://${BUCKET}/aws-small/`);
  const mloNoop = mlo(small, 'push', '-q');
  const awsNoop = aws('s3', 'sync', '--only-show-errors', join(small, 'data'), `s3://${BUCKET}/aws-small/`);
  const smallClone = clone(small, 'small-clone');
  const mloPullSmall = mlo(smallClone, 'pull', '-q');
  const awsPullSmall = aws('s3', 'sync', '--only-show-errors', `s3://${BUCKET}/aws-small/`, join(work, 'aws-small-down'));

  const n = SMALL_COUNT.toLocaleString('en-US');
  const row = (what, m, a, target, peer = 'aws s3 sync') => {
    const ratio = a / m;
    const met = target === undefined ? '' : ratio >= target ? 'yes' : 'no';
    return [what, fmt.s(m), peer, fmt.s(a), fmt.x(ratio), target === undefined ? '' : `>= ${target}x`, met];
  };
  report(`${n} objects of 4 KiB to a local s3rver`, [
    row(`push ${n} objects`, mloPushSmall, awsPushSmall, 2),
    row('push again (nothing to send)', mloNoop, awsNoop),
    row(`pull ${n} objects (clone)`, mloPullSmall, awsPullSmall),
  ]);

  // 2. One large object.
  const big = repoWith(
    'big',
    (dir) => {
      spawnSync('sh', ['-c', `head -c ${BIG_SIZE} /dev/urandom > ${join(dir, 'big.bin')}`]);
    },
    'big.bin',
    'mlo-big',
  );
  const mloPushBig = mlo(big, 'push', '-q');
  const awsPushBig = aws('s3', 'cp', '--only-show-errors', join(big, 'big.bin'), `s3://${BUCKET}/aws-big/big.bin`);
  const bigClone = clone(big, 'big-clone');
  const mloPullBig = mlo(bigClone, 'pull', '-q');
  const mloFetchBig = (() => {
    const again = clone(big, 'big-clone-2');
    return mlo(again, 'fetch', '-q');
  })();
  const awsPullBig = aws('s3', 'cp', '--only-show-errors', `s3://${BUCKET}/aws-big/big.bin`, join(work, 'aws-big-down', 'big.bin'));
  const size = BIG_SIZE >= 1 << 30 ? `${BIG_SIZE / (1 << 30)} GiB` : `${BIG_SIZE / (1 << 20)} MiB`;
  report(`one ${size} object to a local s3rver`, [
    row(`push ${size}`, mloPushBig, awsPushBig, 1, 'aws s3 cp'),
    row(`pull ${size} (fetch, verify, checkout)`, mloPullBig, awsPullBig, 1, 'aws s3 cp'),
    row(`fetch ${size} (into the cache, verified)`, mloFetchBig, awsPullBig, undefined, 'aws s3 cp'),
  ]);
  console.log('\nratio = peer time / mlo time (above 1: mlo is faster).');
  console.log(
    `(aws-cli ${spawnSync('aws', ['--version'], { encoding: 'utf8' }).stdout.trim() || spawnSync('aws', ['--version'], { encoding: 'utf8' }).stderr.trim()}; mlo -j default 32; one run each)`,
  );
} finally {
  server.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
}
