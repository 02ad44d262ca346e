/**
 * The UI tests' repository (a training pipeline with declared plots, runs made with the built binary,
 * a second branch, a registered model) and a runner for `mlo ui` that waits for its --json start-up
 * document and stops it with a signal.
 */
import { spawn } from 'node:child_process';
import { LINEAR, LINEAR_V2 } from '../model/fixtures.js';
import { GIT_ENV, git, makeRepo, mlo, MLO_BIN } from '../helpers.js';

const TRAIN = `
const fs = require('fs');
const lr = Number(/^lr:\\s*(\\S+)/m.exec(fs.readFileSync('params.yaml', 'utf8'))[1]);
for (let step = 0; step < 8; step++) {
  fs.appendFileSync(process.env.MLO_METRICS_FILE, JSON.stringify({ step, loss: lr / (step + 1) }) + '\\n');
}
fs.mkdirSync('out', { recursive: true });
fs.writeFileSync('out/model.txt', 'model lr=' + lr + '\\n');
fs.writeFileSync('metrics.json', JSON.stringify({ acc: Math.round((1 - lr) * 10000) / 10000 }));
fs.writeFileSync('roc.csv', 'fpr,tpr\\n0,0\\n0.1,' + (0.5 + lr) + '\\n0.4,0.9\\n1,1\\n');
fs.writeFileSync('confusion.csv', 'actual,predicted\\ncat,cat\\ncat,dog\\ndog,dog\\ndog,dog\\n');
`;

const PIPELINE = `stages:
  prepare:
    cmd: node -e "require('fs').writeFileSync('data.txt', 'rows')"
    outs: [data.txt]
  train:
    cmd: node train.cjs
    deps: [train.cjs, data.txt]
    params: [lr]
    outs: [out]
    metrics:
      - metrics.json:
          cache: false
    plots:
      - roc.csv:
          cache: false
          template: roc
          x: fpr
          y: tpr
      - confusion.csv:
          cache: false
          template: confusion
          x: actual
          y: predicted
`;

export interface UiRepo {
  dir: string;
  /** Run ids, newest first, as `exp show --json` lists them. */
  runs: string[];
}

/**
 * Three runs on main (lr 0.1, then exp runs with lr 0.3 and 0.2), an `exp` branch whose committed
 * params and metrics differ, and a model `churn` with two versions, the second promoted to production.
 */
export async function uiRepo(): Promise<UiRepo> {
  const dir = await makeRepo({ 'train.cjs': TRAIN, 'mlo.yaml': PIPELINE, 'params.yaml': 'lr: 0.1\n', 'v1.onnx': LINEAR, 'v2.onnx': LINEAR_V2 });
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'pipeline');
  const must = async (...args: string[]) => {
    const r = await mlo(dir, ...args);
    if (r.exitCode !== 0) throw new Error(`mlo ${args.join(' ')} failed:\n${r.stderr}`);
    return r;
  };
  await must('run');
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'run lr 0.1');
  await git(dir, 'checkout', '-q', '-b', 'exp');
  await must('exp', 'run', '-S', 'lr=0.4', '-n', 'on-branch');
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', 'lr 0.4');
  await git(dir, 'checkout', '-q', 'main');
  await must('checkout');
  await must('exp', 'run', '-S', 'lr=0.3', '-n', 'fast');
  await must('exp', 'run', '-S', 'lr=0.2', '-n', 'medium');
  await must('model', 'package', 'v1.onnx', '--name', 'churn');
  await must('model', 'register', 'models/churn');
  await must('model', 'package', 'v2.onnx', '--name', 'churn');
  await must('model', 'register', 'models/churn');
  await must('model', 'promote', 'churn@2', '--to', 'production', '--reason', 'auc up');
  const show = JSON.parse((await must('exp', 'show', '--json')).stdout) as { runs: { id: string }[] };
  return { dir, runs: show.runs.map((r) => r.id) };
}

export interface RunningUi {
  url: string;
  info: { url: string; host: string; port: number };
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Starts `mlo ui --json --port 0 ARGS` in `cwd`; rejects with its output when it exits first. */
export async function startUi(cwd: string, args: string[] = [], env: Record<string, string> = {}): Promise<RunningUi> {
  const proc = spawn(process.execPath, [MLO_BIN, 'ui', '--json', '--port', '0', ...args], { cwd, env: { ...process.env, ...GIT_ENV, NO_COLOR: '1', ...env } });
  let out = '';
  let err = '';
  proc.stderr.on('data', (c) => (err += c));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const info = await new Promise<RunningUi['info']>((resolve, reject) => {
    proc.stdout.on('data', (c) => {
      out += c;
      try {
        resolve(JSON.parse(out));
      } catch {
        // not complete yet
      }
    });
    proc.on('exit', (code) => reject(new Error(`mlo ui exited with ${code}:\n${out}\n${err}`)));
  });
  return {
    url: info.url,
    info,
    stderr: () => err,
    stop() {
      proc.kill('SIGTERM');
      return exited;
    },
  };
}
