// Core benchmarks (issue 2): add throughput vs b3sum and md5sum, add of 50,000 small files vs git add,
// no-op status vs git status, and start-up vs `node -e 0`. Ratios in one run.
import { execSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QUICK, fmt, has, medianOf, mlo, report, timeRun } from './lib.mjs';

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
function benchBigFile(base, label) {
  const repo = join(base, 'big-repo');
  freshRepo(repo);
  const file = join(repo, 'big.bin');
  execSync(`head -c ${bigSize} /dev/urandom > ${file}`);
  // Written back and then read: "from page cache", with no dirty pages for fsync to flush.
  execSync(`sync && cat ${file} > /dev/null`);
  const b3 = has('b3sum') ? medianOf(3, () => timeRun('b3sum', ['--num-threads', '1', file])) : undefined;
  const md5 = medianOf(3, () => timeRun('md5sum', [file]));
  const add = medianOf(3, () => mlo(['add', 'big.bin', '-q'], repo), () => {
    rmSync(join(repo, '.mlo', 'cache'), { recursive: true, force: true });
    rmSync(join(repo, '.mlo', 'tmp'), { recursive: true, force: true });
    rmSync(join(repo, 'big.bin.mlo'), { force: true });
  });
  const gb = bigSize / 1e9;
  if (b3) rows1.push([`add ${gb.toFixed(2)} GB (${label})`, fmt.gbs(gb / add), 'b3sum --num-threads 1', fmt.gbs(gb / b3), fmt.x(b3 / add), '>= 0.8x', b3 / add >= 0.8 ? 'yes' : 'NO']);
  rows1.push([`add ${gb.toFixed(2)} GB (${label})`, fmt.gbs(gb / add), 'md5sum', fmt.gbs(gb / md5), fmt.x(md5 / add), '>= 4x', md5 / add >= 4 ? 'yes' : 'NO']);
  rmSync(repo, { recursive: true, force: true });
}
const mnt = xfsMount();
if (mnt) benchBigFile(mnt, 'XFS, reflink');
benchBigFile(work, `${execSync(`df -T ${work} | tail -1 | awk '{print $2}'`).toString().trim()}, copy`);
if (!mnt) console.log('(no XFS loop mount possible here: the reflink case was skipped)');
report('mlo add of one large file (throughput, higher is better)', rows1);

// 2. add of many small files vs git add; 3. no-op status vs git status.
const nFiles = QUICK ? 2000 : 50_000;
const tree = join(work, 'tree');
let seed = 7;
for (let i = 0; i < nFiles; i++) {
  const dir = join(tree, `d${String(Math.floor(i / 1000)).padStart(2, '0')}`);
  if (i % 1000 === 0) mkdirSync(dir, { recursive: true });
  seed = (seed * 1103515245 + 12345) >>> 0;
  writeFileSync(join(dir, `f${i}.bin`), Buffer.alloc(1024 + (seed % (15 * 1024)), seed & 255));
}
const mloRepo = join(work, 'small-mlo');
const gitRepo = join(work, 'small-git');
freshRepo(mloRepo);
mkdirSync(gitRepo);
spawnSync('git', ['init', '-q'], { cwd: gitRepo });
cpSync(tree, join(mloRepo, 'data'), { recursive: true });
cpSync(tree, join(gitRepo, 'data'), { recursive: true });
execSync('sync');
const mloAdd = mlo(['add', 'data', '-q'], mloRepo);
const gitAdd = timeRun('git', ['add', 'data'], { cwd: gitRepo, env: gitEnv });
spawnSync('git', ['commit', '-qm', 'data'], { cwd: gitRepo, env: gitEnv });
mlo(['status'], mloRepo); // first status after add may write the state snapshot
const mloStatus = medianOf(5, () => mlo(['status'], mloRepo));
const gitStatus = medianOf(5, () => timeRun('git', ['status'], { cwd: gitRepo }));
report(`${nFiles} files of 1-16 KiB (time, lower is better)`, [
  ['add', fmt.s(mloAdd), 'git add', fmt.s(gitAdd), fmt.x(mloAdd / gitAdd), '<= 1x', mloAdd <= gitAdd ? 'yes' : 'NO'],
  ['status, nothing changed', fmt.s(mloStatus), 'git status', fmt.s(gitStatus), fmt.x(mloStatus / gitStatus), '<= 2x', mloStatus <= 2 * gitStatus ? 'yes' : 'NO'],
]);

// 4. start-up.
const version = medianOf(21, () => mlo(['--version']));
const nodeBare = medianOf(21, () => timeRun(process.execPath, ['-e', '0']));
report('start-up (lower is better)', [
  ['mlo --version', fmt.s(version), 'node -e 0', fmt.s(nodeBare), fmt.x(version / nodeBare), '<= 1.5x', version <= 1.5 * nodeBare ? 'yes' : 'NO'],
]);

if (mnt) spawnSync('umount', [mnt]);
rmSync(work, { recursive: true, force: true });
