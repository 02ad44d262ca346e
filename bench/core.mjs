// Core benchmarks (issue 2): add throughput vs b3sum and md5sum, add of 50,000 small files vs git add,
// no-op status vs git status, and start-up vs `node -e 0`. Ratios in one run.
import { execSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MLO, QUICK, fmt, has, medianOf, mlo, report, timeRun } from './lib.mjs';

const work = mkdtempSync(join(tmpdir(), 'mlo-bench-core-'));
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' };

function freshRepo(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  spawnSync('git', ['init', '-q'], { cwd: dir });
  timeRun(process.execPath, [join(import.meta.dirname, '..', 'bin', 'mlo.js'), 'init', '-q'], { cwd: dir });
}

/** A reflink-capable XFS loop mount, when this machine allows it (root, mkfs.xfs); else undefined. */
function xfsMount() {
  if (!has('mkfs.xfs') || process.getuid?.() !== 0) return undefined;
  const img = join(work, 'xfs.img');
  const mnt = join(work, 'xfs');
  mkdirSync(mnt);
  const size = QUICK ? '512M' : '4G';
  const ok = spawnSync('sh', ['-c', `truncate -s ${size} ${img} && mkfs.xfs -q -m reflink=1 ${img} && mount -o loop ${img} ${mnt}`]).status === 0;
  return ok ? mnt : undefined;
}

// 1. add of one large file, from page cache.
const bigSize = QUICK ? 64 << 20 : 1 << 30;
const rows1 = [];
function benchBigFile(base, label, copies) {
  const repo = join(base, 'big-repo');
  freshRepo(repo);
  const file = join(repo, 'big.bin');
  execSync(`head -c ${bigSize} /dev/urandom > ${file}`);
  // Written back and then read: "from page cache", with no dirty pages for fsync to flush.
  execSync(`sync && cat ${file} > /dev/null`);
  const b3 = has('b3sum') ? medianOf(3, () => timeRun('b3sum', ['--num-threads', '1', file])) : undefined;
  const md5 = medianOf(3, () => timeRun('md5sum', [file]));
  const add = medianOf(
    3,
    () => mlo(['add', 'big.bin', '-q'], repo),
    () => {
      rmSync(join(repo, '.mlo', 'cache'), { recursive: true, force: true });
      rmSync(join(repo, '.mlo', 'tmp'), { recursive: true, force: true });
      rmSync(join(repo, 'big.bin.mlo'), { force: true });
    },
  );
  const gb = bigSize / 1e9;
  if (b3)
    rows1.push([
      `add ${gb.toFixed(2)} GB (${label})`,
      fmt.gbs(gb / add),
      'b3sum --num-threads 1',
      fmt.gbs(gb / b3),
      fmt.x(b3 / add),
      '>= 0.8x',
      b3 / add >= 0.8 ? 'yes' : 'NO',
    ]);
  rows1.push([`add ${gb.toFixed(2)} GB (${label})`, fmt.gbs(gb / add), 'md5sum', fmt.gbs(gb / md5), fmt.x(md5 / add), '>= 4x', md5 / add >= 4 ? 'yes' : 'NO']);
  if (b3 && copies) {
    // Without reflinks, add must also write an independent copy into the cache (fsynced): the same
    // job done by the two tools one after the other.
    const copy = join(repo, 'copy.bin');
    const both = medianOf(
      3,
      () => timeRun('sh', ['-c', `b3sum --num-threads 1 ${file} > /dev/null && cp ${file} ${copy} && sync ${copy}`]),
      () => rmSync(copy, { force: true }),
    );
    rmSync(copy, { force: true });
    rows1.push([`add ${gb.toFixed(2)} GB (${label})`, fmt.gbs(gb / add), 'b3sum, then cp + sync', fmt.gbs(gb / both), fmt.x(both / add), '(context)', '']);
  }
  rmSync(repo, { recursive: true, force: true });
}
const mnt = xfsMount();
if (mnt) benchBigFile(mnt, 'XFS, reflink', false);
// The loop device's writes reach its backing file later: flush them so they do not slow the next case.
execSync('sync');
benchBigFile(work, `${execSync(`df -T ${work} | tail -1 | awk '{print $2}'`).toString().trim()}, copy`, true);
if (!mnt) console.log('(no XFS loop mount possible here: the reflink case was skipped)');
report('mlo add of one large file (throughput, higher is better)', rows1);

// 2. add of many small files vs git add (median of 3, fresh repositories); 3. no-op status vs git status.
// Two contents: repetitive bytes, which zlib shrinks to almost nothing (git's best case: it writes
// compressed objects), and random bytes, like images, audio or model weights (incompressible).
const nFiles = QUICK ? 2000 : 50_000;
const runs = QUICK ? 1 : 3;

function makeTree(tree, fill) {
  let seed = 7;
  for (let i = 0; i < nFiles; i++) {
    const dir = join(tree, `d${String(Math.floor(i / 1000)).padStart(2, '0')}`);
    if (i % 1000 === 0) mkdirSync(dir, { recursive: true });
    seed = (seed * 1103515245 + 12345) >>> 0;
    writeFileSync(join(dir, `f${i}.bin`), fill(1024 + (seed % (15 * 1024)), seed));
  }
}

function benchSmallFiles(label, fill) {
  const tree = join(work, `tree-${label}`);
  makeTree(tree, fill);
  const mloRepo = join(work, `small-mlo-${label}`);
  const gitRepo = join(work, `small-git-${label}`);
  const adds = [];
  const gits = [];
  for (let r = 0; r < runs; r++) {
    freshRepo(mloRepo);
    rmSync(gitRepo, { recursive: true, force: true });
    mkdirSync(gitRepo);
    spawnSync('git', ['init', '-q'], { cwd: gitRepo });
    cpSync(tree, join(mloRepo, 'data'), { recursive: true });
    cpSync(tree, join(gitRepo, 'data'), { recursive: true });
    execSync('sync');
    adds.push(mlo(['add', 'data', '-q'], mloRepo));
    execSync('sync');
    gits.push(timeRun('git', ['add', 'data'], { cwd: gitRepo, env: gitEnv }));
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  return { mloRepo, gitRepo, mloAdd: median(adds), gitAdd: median(gits) };
}

const repetitive = benchSmallFiles('repetitive', (size, seed) => Buffer.alloc(size, seed & 255));
const random = benchSmallFiles('random', (size) => randomBytes(size));
const { mloRepo, gitRepo } = repetitive;
spawnSync('git', ['commit', '-qm', 'data'], { cwd: gitRepo, env: gitEnv });
mlo(['status'], mloRepo); // first status after add may write the state snapshot
const mloStatus = medianOf(5, () => mlo(['status'], mloRepo));
const gitStatus = medianOf(5, () => timeRun('git', ['status'], { cwd: gitRepo }));
// Node 20 loads NODE_EXTRA_CA_CERTS at start-up (nodejs/node#40524): where it is set, every Node
// program pays for it before running any code. The same pair without it, for context.
const withoutCaEnv = (() => {
  if (!process.env.NODE_EXTRA_CA_CERTS) return undefined;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
})();
const mloStatusNoCa = withoutCaEnv && medianOf(5, () => timeRun(process.execPath, [MLO, 'status'], { cwd: mloRepo, env: withoutCaEnv }));
const gitStatusNoCa = withoutCaEnv && medianOf(5, () => timeRun('git', ['status'], { cwd: gitRepo, env: withoutCaEnv }));
const addRow = (label, r) => [
  `add, ${label} bytes`,
  fmt.s(r.mloAdd),
  'git add',
  fmt.s(r.gitAdd),
  fmt.x(r.mloAdd / r.gitAdd),
  '<= 1x',
  r.mloAdd <= r.gitAdd ? 'yes' : 'NO',
];
report(`${nFiles} files of 1-16 KiB (time, lower is better)`, [
  addRow('repetitive', repetitive),
  addRow('random', random),
  [
    'status, nothing changed',
    fmt.s(mloStatus),
    'git status',
    fmt.s(gitStatus),
    fmt.x(mloStatus / gitStatus),
    '<= 2x',
    mloStatus <= 2 * gitStatus ? 'yes' : 'NO',
  ],
  ...(withoutCaEnv
    ? [['status, NODE_EXTRA_CA_CERTS unset', fmt.s(mloStatusNoCa), 'git status', fmt.s(gitStatusNoCa), fmt.x(mloStatusNoCa / gitStatusNoCa), '(context)', '']]
    : []),
]);

// Context from the issue: Dud (a Go rewrite of DVC) commits 20,000 files of 100 KB in 1.6 s, DVC 2.11
// in 46 s (published figures, other machines). The same shape here, random bytes, from page cache.
{
  const n = QUICK ? 500 : 20_000;
  const repo = join(work, 'dud-shape');
  freshRepo(repo);
  for (let i = 0; i < n; i++) {
    const dir = join(repo, 'data', `d${Math.floor(i / 1000)}`);
    if (i % 1000 === 0) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.bin`), randomBytes(100 * 1024));
  }
  execSync('sync');
  const add = mlo(['add', 'data', '-q'], repo);
  report(`${n} files of 100 KB (context: published figures from the issue, other machines)`, [
    ['add', fmt.s(add), 'Dud 1.6 s, DVC 2.11 46 s (published)', '', '', '', ''],
  ]);
  rmSync(repo, { recursive: true, force: true });
}

// 4. start-up.
const version = medianOf(21, () => mlo(['--version']));
const nodeBare = medianOf(21, () => timeRun(process.execPath, ['-e', '0']));
const nodeBareNoCa = withoutCaEnv && medianOf(21, () => timeRun(process.execPath, ['-e', '0'], { env: withoutCaEnv }));
report('start-up (lower is better)', [
  ['mlo --version', fmt.s(version), 'node -e 0', fmt.s(nodeBare), fmt.x(version / nodeBare), '<= 1.5x', version <= 1.5 * nodeBare ? 'yes' : 'NO'],
  ...(withoutCaEnv
    ? [['node -e 0, NODE_EXTRA_CA_CERTS unset', fmt.s(nodeBareNoCa), 'node -e 0', fmt.s(nodeBare), fmt.x(nodeBareNoCa / nodeBare), '(context)', '']]
    : []),
]);

if (mnt) spawnSync('umount', [mnt]);
rmSync(work, { recursive: true, force: true });
