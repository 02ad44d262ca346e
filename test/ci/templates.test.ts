/**
 * The CI workflow templates (valid YAML that runs the mlo commands, shell that parses) and
 * `mlo init --template NAME`, which copies them without overwriting unless --force.
 */
import { execa } from 'execa';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { exists, git, json, makeRepo, mlo, read, ROOT, tempDir, type MloResult } from '../helpers.js';

function explain(r: MloResult): string {
  return `exit ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

function template(rel: string): { text: string; doc: any } {
  const text = readFileSync(join(ROOT, 'templates', 'ci', rel), 'utf8');
  const parsed = parseDocument(text);
  expect(parsed.errors, rel).toEqual([]);
  expect(parsed.warnings, rel).toEqual([]);
  return { text, doc: parsed.toJS() };
}

/** `sh -n`: the script parses (nothing runs). */
async function shellParses(script: string): Promise<void> {
  const r = await execa('sh', ['-n', '-c', script], { reject: false });
  expect(r.exitCode, `${script}\n${r.stderr}`).toBe(0);
}

/** The install step: refuses the registry name `mlo` (an unrelated project) before installing. */
const INSTALL = `case "$MLO_PACKAGE" in ""|mlo|mlo@*) echo "set MLO_PACKAGE to a tarball or git URL of mlo: the npm package named mlo is an unrelated project" >&2; exit 1;; esac; npm install --global "$MLO_PACKAGE"`;

describe('CI templates', () => {
  it('the install step refuses the unrelated registry package named mlo', async () => {
    for (const pkg of ['', 'mlo', 'mlo@0.1.0']) {
      const r = await execa('sh', ['-c', INSTALL.replace('npm install', 'echo npm install')], { env: { MLO_PACKAGE: pkg }, reject: false });
      expect(r.exitCode, pkg).toBe(1);
      expect(r.stderr).toContain('unrelated project');
    }
    const ok = await execa('sh', ['-c', INSTALL.replace('npm install', 'echo npm install')], { env: { MLO_PACKAGE: './mlo-0.1.0.tgz' } });
    expect(ok.stdout).toBe('npm install --global ./mlo-0.1.0.tgz');
  });

  it('GitHub Actions: full history, Node 20, pull, run, push on main, report posted on the pull request', async () => {
    const { doc } = template('github/mlo.yml');
    expect(Object.keys(doc.on).sort()).toEqual(['pull_request', 'push']);
    expect(doc.permissions).toMatchObject({ 'pull-requests': 'write' });
    const steps: { uses?: string; with?: Record<string, unknown>; run?: string; if?: string }[] = doc.jobs.mlo.steps;
    const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout@'));
    expect(checkout?.with?.['fetch-depth']).toBe(0);
    expect(steps.find((s) => s.uses?.startsWith('actions/setup-node@'))?.with?.['node-version']).toBe(20);
    const runs = steps.filter((s) => s.run).map((s) => s.run!.trim());
    expect(runs).toContain(INSTALL);
    expect(doc.env.MLO_PACKAGE).toBe('');
    const at = (cmd: string) => runs.findIndex((r) => r.startsWith(cmd));
    expect(at('mlo pull')).toBeGreaterThan(-1);
    expect(at('mlo run')).toBeGreaterThan(at('mlo pull'));
    expect(steps.find((s) => s.run === 'mlo push')?.if).toBe("github.event_name == 'push'");
    expect(runs[at('mlo ci report')]).toContain('mlo ci report --base "origin/$BASE" > report.md');
    for (const r of runs) await shellParses(r);

    // The comment step: its script compiles as the async function body github-script runs it as, and
    // finds the previous comment by the marker every report starts with.
    const comment = steps.find((s) => s.uses?.startsWith('actions/github-script@'));
    const script = String(comment?.with?.script);
    const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
    expect(() => new AsyncFunction('require', 'github', 'context', script)).not.toThrow();
    expect(script).toContain("'<!-- mlo-ci-report -->'");
    expect(script).toContain('updateComment');
    expect(script).toContain('createComment');
  });

  it('GitLab CI: full history, Node 20, pull, run, push on the default branch, report posted with a token', async () => {
    const { doc } = template('gitlab/.gitlab-ci.yml');
    expect(doc.variables.GIT_DEPTH).toBe('0');
    expect(doc['.mlo'].image).toBe('node:20');
    expect(doc['.mlo'].before_script).toEqual([INSTALL]);
    expect(doc.variables.MLO_PACKAGE).toBe('');
    expect(doc.mlo.extends).toBe('.mlo');
    expect(doc.mlo.rules).toEqual([{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' }]);
    expect(doc.mlo.script).toEqual(['mlo pull', 'mlo run', 'mlo push']);
    const report: string[] = doc['mlo-report'].script;
    expect(doc['mlo-report'].rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
    expect(report.slice(0, 2)).toEqual(['mlo pull', 'mlo run']);
    expect(report).toContain('mlo ci report --base "origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME" > report.md');
    const post = report.at(-1)!;
    expect(post).toContain('PRIVATE-TOKEN: $MLO_GITLAB_TOKEN');
    expect(post).toContain('$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes');
    expect(post).toContain('--data-urlencode "body@report.md"');
    expect(post).toContain('<!-- mlo-ci-report -->');
    expect(doc['mlo-report'].artifacts.paths).toEqual(['report.md']);
    for (const s of [...doc['.mlo'].before_script, ...doc.mlo.script, ...report]) await shellParses(s);
  });

  it('the marker the scripts look for is the first line of every report', async () => {
    const dir = await makeRepo({ 'metrics.json': '{"acc": 1}' }, { commit: true });
    const r = await mlo(dir, 'ci', 'report');
    expect(r.stdout.split('\n')[0]).toBe('<!-- mlo-ci-report -->');
  });
});

describe('mlo init --template', () => {
  it('github writes .github/workflows/mlo.yml, refuses to overwrite it, and --force replaces it', async () => {
    const dir = await makeRepo();
    const shipped = readFileSync(join(ROOT, 'templates/ci/github/mlo.yml'), 'utf8');
    const r = await mlo(dir, 'init', '--template', 'github');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(r.stdout).toContain('mlo is already initialized');
    expect(r.stdout).toContain('Wrote .github/workflows/mlo.yml (GitHub Actions)');
    expect(read(dir, '.github/workflows/mlo.yml')).toBe(shipped);

    writeFileSync(join(dir, '.github/workflows/mlo.yml'), 'name: mine\n');
    const again = await mlo(dir, 'init', '--template', 'github');
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('error: .github/workflows/mlo.yml already exists; mlo init leaves it alone');
    expect(again.stderr).toContain('--force');
    expect(read(dir, '.github/workflows/mlo.yml')).toBe('name: mine\n');

    const forced = await mlo(dir, 'init', '--template', 'github', '--force', '--json');
    expect(forced.exitCode, explain(forced)).toBe(0);
    expect(json(forced).template).toEqual({
      name: 'github',
      title: 'GitHub Actions',
      file: join(dir, '.github/workflows/mlo.yml'),
      path: '.github/workflows/mlo.yml',
      overwritten: true,
      subfolder: null,
    });
    expect(read(dir, '.github/workflows/mlo.yml')).toBe(shipped);
  });

  it('gitlab writes .gitlab-ci.yml in a fresh repository, together with .mlo/', async () => {
    const dir = tempDir();
    await git(dir, 'init', '-q', '-b', 'main');
    const r = await mlo(dir, 'init', '--template', 'gitlab', '--json');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(json(r)).toMatchObject({ created: true, template: { name: 'gitlab', path: '.gitlab-ci.yml', overwritten: false } });
    expect(exists(dir, '.mlo/config.yaml')).toBe(true);
    expect(read(dir, '.gitlab-ci.yml')).toBe(readFileSync(join(ROOT, 'templates/ci/gitlab/.gitlab-ci.yml'), 'utf8'));
  });

  it('a project in a subfolder gets the workflow at the top of the git work tree, with a warning', async () => {
    const dir = tempDir();
    await git(dir, 'init', '-q', '-b', 'main');
    mkdirSync(join(dir, 'ml'));
    const r = await mlo(join(dir, 'ml'), 'init', '--template', 'github');
    expect(r.exitCode, explain(r)).toBe(0);
    expect(exists(dir, '.github/workflows/mlo.yml')).toBe(true);
    expect(exists(dir, 'ml/.github')).toBe(false);
    expect(r.stderr).toContain("set its steps' working directory to ml");
  });

  it('an unknown template name is a usage error listing the names, before anything is created', async () => {
    const dir = tempDir();
    await git(dir, 'init', '-q', '-b', 'main');
    const r = await mlo(dir, 'init', '--template', 'jenkins');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("error: unknown CI template 'jenkins'");
    expect(r.stderr).toContain('hint: use one of: github, gitlab');
    expect(exists(dir, '.mlo')).toBe(false);
    const j = await mlo(dir, 'init', '--template', 'jenkins', '--json');
    expect(json(j).error).toMatchObject({ code: 'MLO_USAGE', message: "unknown CI template 'jenkins'" });
    const force = await mlo(dir, 'init', '--force');
    expect(force.exitCode).toBe(2);
    expect(force.stderr).toContain('--force only applies with --template');
  });
});
