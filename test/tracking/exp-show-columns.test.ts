/**
 * Issue 13 item 8: `exp show` fits the terminal it prints to (widths measured with string-width, cells
 * cut with an ellipsis, CJK names aligned), prints full rows to a pipe, and takes DVC's column filters
 * `--keep` / `--drop`.
 */
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { GIT_ENV, json, MLO_BIN, mlo } from '../helpers.js';
import { trainingRepo } from './fixture.js';

const hasScript =
  process.platform === 'linux' &&
  (() => {
    try {
      execFileSync('script', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

/** Two runs, one with a long CJK name, so that a row is wider than a narrow terminal. */
async function twoRuns(): Promise<string> {
  const dir = await trainingRepo();
  expect((await mlo(dir, 'exp', 'run', '-n', 'base')).exitCode).toBe(0);
  const r = await mlo(dir, 'exp', 'run', '-S', 'lr=0.5', '-n', '学習率を上げた実験その二番目の試行');
  expect(r.exitCode, r.stderr).toBe(0);
  return dir;
}

describe('mlo exp show --keep / --drop', () => {
  it('drops matching columns, keeps --keep ones over --drop, and filters --json the same way', async () => {
    const dir = await twoRuns();
    const header = async (...args: string[]) => (await mlo(dir, 'exp', 'show', '--csv', ...args)).stdout.split('\n')[0];
    expect(await header()).toBe('run,name,status,created,commit,lr,model.depth,acc,eval.status,loss');
    expect(await header('--drop', 'Created|Commit|eval')).toBe('run,name,status,lr,model.depth,acc,loss');
    // As in DVC: drop everything, keep what matters. The run id always stays.
    expect(await header('--drop', '.', '--keep', '^(acc|lr)$')).toBe('run,lr,acc');
    // --keep wins over --only-changed too (model.depth is the same in both runs).
    expect(await header('--only-changed', '--keep', 'depth')).toBe('run,name,status,created,commit,lr,model.depth,acc,loss');

    const doc = json(await mlo(dir, 'exp', 'show', '--json', '--drop', '^(loss|eval.status|model.depth)$'));
    expect(doc.columns).toEqual({ params: ['lr'], metrics: ['acc'] });
    expect(Object.keys(doc.runs[0].metrics)).toEqual(['acc']);
    expect(Object.keys(doc.best)).toEqual(['acc']);
  });

  it('refuses a bad regular expression, and a pattern that matches no column (exit 2, listing the columns)', async () => {
    const dir = await twoRuns();
    const bad = await mlo(dir, 'exp', 'show', '--keep', '(');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--keep is not a valid regular expression/);
    for (const flag of ['--drop', '--keep']) {
      const none = await mlo(dir, 'exp', 'show', flag, 'f1', '--json');
      expect(none.exitCode).toBe(2);
      expect(json(none).error.message).toMatch(new RegExp(`^${flag} f1 matches no column \\(columns: Run, Name, Status`));
      expect(none.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe.skipIf(!hasScript)('mlo exp show in a terminal', () => {
  it('fits 60 columns with ellipses and aligned CJK names; a pipe gets the full rows', async () => {
    const dir = await twoRuns();
    const piped = await mlo(dir, 'exp', 'show');
    const pipedRows = piped.stdout.split('\n').filter((l) => l.startsWith('Run') || /^[0-9a-f]{7} /.test(l));
    expect(Math.max(...pipedRows.map((l) => stringWidth(l)))).toBeGreaterThan(60);
    expect(piped.stdout).toContain('学習率を上げた実験その二番目の試行');

    const r = await execa('script', ['-qec', 'stty cols 60; "$NODE" "$MLO" exp show', '/dev/null'], {
      cwd: dir,
      env: { ...GIT_ENV, MLO: MLO_BIN, NODE: process.execPath, TERM: 'xterm', NO_COLOR: '1' },
      stdin: 'ignore',
      reject: false,
    });
    expect(r.exitCode, r.stdout).toBe(0);
    const lines = r.stdout.replaceAll('\r', '').split('\n');
    const rows = lines.filter((l) => l.startsWith('Run') || /^[0-9a-f]{7} /.test(l));
    expect(rows, r.stdout).toHaveLength(3);
    for (const row of rows) expect(stringWidth(row), row).toBeLessThanOrEqual(60);
    expect(r.stdout).toContain('\u2026');
    // Columns line up: the status column starts at the same terminal column on every row.
    const starts = rows.map((row) => stringWidth(row.slice(0, row.search(/Status|finished/))));
    expect(new Set(starts).size, JSON.stringify(rows)).toBe(1);
    expect(r.stdout).toMatch(/more columns? past the terminal's width/);
  });
});
