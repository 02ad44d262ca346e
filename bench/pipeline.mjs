// Pipeline benchmark (issue 4): a no-op `mlo run` on a 100-stage pipeline over 10,000 dep files
// against `git status` on the same repository (target: at most 2x), and how the no-op time grows
// with 10, 100 and 1,000 stages over the same 10,000 files. One run, ratios. BENCH_QUICK=1: 1,000 files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MLO, QUICK, fmt, medianOf, report, timeRun } from './lib.mjs';

const FILES = QUICK ? 1_000 : 10_000;
const RUNS = QUICK ? 3 : 7;
const work = mkdtempSync(join(tmpdir(), 'mlo-bench-pipeline-'));
const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b', NO_COLOR: '1' };
const run = (cmd, args, cwd) => timeRun(cmd, args, { cwd, env });

/** A git repository whose `stages` stages each read their own folder of FILES/stages committed files. */
function makePipeline(stages) {
  const dir = join(work, `p${stages}`);
  mkdirSync(dir, { recursive: true });
  run('git', ['init', '-q'], dir);
  run(process.execPath, [MLO, 'init', '-q'], dir);
  const perStage = Math.max(1, Math.floor(FILES / stages));
  let yaml = 'stages:\n';
  for (let s = 0; s < stages; s++) {
    const data = join(dir, 'data', `s${s}`);
    mkdirSync(data, { recursive: true });
    for (let f = 0; f < perStage; f++) writeFileSync(join(data, `f${f}.csv`), `${s},${f}\n`.repeat(4));
    // Every tenth stage also reads the previous stage's output, so the graph has edges.
    const upstream = s % 10 && s > 0 ? `, out/s${s - 1}.txt` : '';
    yaml += `  s${s}:\n    cmd: echo ${s} > out/s${s}.txt\n    deps: [data/s${s}${upstream}]\n    params: [lr]\n    outs: [out/s${s}.txt]\n`;
  }
  mkdirSync(join(dir, 'out'), { recursive: true });
  writeFileSync(join(dir, 'mlo.yaml'), yaml);
  writeFileSync(join(dir, 'params.yaml'), 'lr: 0.1\n');
  run('git', ['add', '-A'], dir);
  run('git', ['commit', '-q', '-m', 'pipeline'], dir);
  const first = run(process.execPath, [MLO, 'run', '-q', '-j', '4'], dir);
  return { dir, first, perStage };
}

const noop = (dir) => medianOf(RUNS, () => run(process.execPath, [MLO, 'run', '-q'], dir));
const gitStatus = (dir) => medianOf(RUNS, () => run('git', ['status', '--porcelain'], dir));

const rows = [];
const growth = [];
for (const stages of [10, 100, 1000]) {
  const { dir, first, perStage } = makePipeline(stages);
  run(process.execPath, [MLO, 'run', '-q'], dir); // warm the page cache and the state database
  const m = noop(dir);
  const g = gitStatus(dir);
  growth.push([
    `no-op mlo run, ${stages} stages x ${perStage} files`,
    fmt.s(m),
    'git status',
    fmt.s(g),
    fmt.x(m / g),
    stages === 100 ? '<= 2x' : '-',
    stages === 100 ? (m / g <= 2 ? 'yes' : 'no') : '-',
  ]);
  if (stages === 100)
    rows.push([`no-op mlo run (${stages} stages, ${FILES} dep files)`, fmt.s(m), 'git status', fmt.s(g), fmt.x(m / g), '<= 2x', m / g <= 2 ? 'yes' : 'no']);
  growth.at(-1).push(`first run ${fmt.s(first)}`);
}
const noopNode = medianOf(RUNS, () => timeRun(process.execPath, ['-e', '0']));
report('no-op mlo run vs git status', rows);
report(
  'no-op time by number of stages (same dep files in total)',
  growth.map((r) => r.slice(0, 7)),
);
console.log(`\n(node -e 0 takes ${fmt.s(noopNode)} here; first runs: ${growth.map((r) => r[7]).join(', ')})`);
rmSync(work, { recursive: true, force: true });
