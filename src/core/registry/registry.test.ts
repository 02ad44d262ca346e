import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isMloError } from '../../base/errors.js';
import { initRepo } from '../repo/init.js';
import { buildLinear, buildMlp } from '../../../test/support/onnx-builder.js';
import { packageModel } from '../model/package.js';
import { repoAt } from '../repo/repo.js';
import { diffModels, listModels, locateModel, parseRef, promoteModel, readAudit, readVersion, registerModel, resolveVersion, showModel } from './registry.js';

/** A git repository with mlo initialised in-process, holding two models and lineage files, committed. */
async function setup() {
  const root = mkdtempSync(join(tmpdir(), 'mlo-registry-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Reg Tester');
  git('config', 'user.email', 'reg@example.com');
  initRepo({ cwd: root });
  writeFileSync(join(root, 'v1.onnx'), buildLinear({ inFeatures: 3, outFeatures: 1 }));
  writeFileSync(join(root, 'v2.onnx'), buildMlp({ inFeatures: 3, hidden: 4, outFeatures: 1 }));
  writeFileSync(join(root, 'metrics.json'), JSON.stringify({ auc: 0.8 }));
  writeFileSync(
    join(root, 'mlo.lock'),
    `schema: 1\nstages:\n  train:\n    cmd: python train.py\n    deps:\n      - path: data/train.csv\n        hash: ${'a'.repeat(64)}\n    params:\n      params.yaml:\n        lr: 0.1\n`,
  );
  git('add', '-A');
  git('commit', '-qm', 'initial');
  return { root, repo: repoAt(root) };
}

describe('registry', () => {
  it('registers versions, moves aliases with an audit trail, and diffs lineage', async () => {
    const { root, repo } = await setup();
    const p1 = await packageModel({ cwd: root, repo, file: 'v1.onnx', name: 'churn', meta: { owner: 'ds' } });
    expect(p1.tracked?.pointerFile).toMatch(/model\.onnx\.mlo$/);
    const r1 = await registerModel(repo, { cwd: root, package: 'models/churn' });
    expect(r1).toMatchObject({ name: 'churn', version: 1, created: true, file: 'registry/churn/versions/1.yaml' });
    // The same file again is not a new version.
    expect((await registerModel(repo, { cwd: root, package: 'models/churn' })).created).toBe(false);

    writeFileSync(join(root, 'metrics.json'), JSON.stringify({ auc: 0.85, f1: 0.7 }));
    writeFileSync(join(root, 'mlo.lock'), readFileSync(join(root, 'mlo.lock'), 'utf8').replace('lr: 0.1', 'lr: 0.05').replace('a'.repeat(64), 'b'.repeat(64)));
    await packageModel({ cwd: root, repo, file: 'v2.onnx', name: 'churn' });
    const r2 = await registerModel(repo, { cwd: root, package: 'models/churn' });
    expect(r2.version).toBe(2);

    const v1 = readVersion(repo, 'churn', 1);
    expect(v1.by).toBe('Reg Tester <reg@example.com>');
    expect(v1.model.path).toBe('models/churn/model.onnx');
    expect(v1.lineage.params).toEqual({ lr: 0.1 });
    expect(v1.lineage.data).toEqual([{ path: 'data/train.csv', hash: 'a'.repeat(64) }]);
    expect(v1.card.meta).toEqual({ owner: 'ds' });

    const p = await promoteModel(repo, { ref: 'churn@2', to: 'production', reason: 'higher auc' });
    expect(p).toMatchObject({ version: 2, previous: null, by: 'Reg Tester <reg@example.com>' });
    const back = await promoteModel(repo, { ref: 'churn@1', to: 'production', reason: 'rollback' });
    expect(back.previous).toBe(2);
    expect(resolveVersion(repo, parseRef('churn@production'))).toEqual({ version: 1, alias: 'production' });
    expect(resolveVersion(repo, parseRef('churn'))).toEqual({ version: 2 });
    expect(parse(readFileSync(join(root, 'registry/churn/aliases.yaml'), 'utf8'))).toEqual({ schema: 1, aliases: { production: 1 } });
    const audit = readAudit(repo, 'churn');
    expect(audit.map((a) => [a.action, a.version, a.alias ?? null, a.reason ?? null])).toEqual([
      ['register', 1, null, null],
      ['register', 2, null, null],
      ['promote', 2, 'production', 'higher auc'],
      ['promote', 1, 'production', 'rollback'],
    ]);
    expect(audit.every((a) => !Number.isNaN(Date.parse(a.ts)))).toBe(true);

    expect(showModel(repo, 'churn@production')).toMatchObject({ version: 1, aliases: ['production'], versions: [1, 2] });
    expect(listModels(repo)).toMatchObject([{ name: 'churn', versions: 2, latest: 2, aliases: { production: 1 } }]);

    const d = diffModels(repo, 'churn@1', 'churn@2');
    expect(d.model.same).toBe(false);
    expect(d.metrics).toEqual([
      { key: 'auc', a: 0.8, b: 0.85, change: 'modified', delta: expect.closeTo(0.05, 9) },
      { key: 'f1', b: 0.7, change: 'added' },
    ]);
    expect(d.params).toEqual([{ key: 'lr', a: 0.1, b: 0.05, change: 'modified' }]);
    expect(d.data).toEqual([{ key: 'data/train.csv', a: 'a'.repeat(64), b: 'b'.repeat(64), change: 'modified' }]);
    expect(d.signature).toEqual([]);

    // models/churn/model.onnx now holds version 2; version 1 is found in the cache by its hash.
    const located = locateModel(repo, v1);
    expect(located.file).toContain('.mlo/cache');
    expect(located.bytes.length).toBe(v1.model.size);
  });

  it('lists an alias that names a missing version as dangling', async () => {
    const { root, repo } = await setup();
    await packageModel({ cwd: root, repo, file: 'v1.onnx', name: 'churn' });
    await registerModel(repo, { cwd: root, package: 'models/churn' });
    await promoteModel(repo, { ref: 'churn@1', to: 'production' });
    expect(listModels(repo)[0].danglingAliases).toEqual([]);
    // A bad merge or hand edit of aliases.yaml.
    writeFileSync(
      join(root, 'registry/churn/aliases.yaml'),
      readFileSync(join(root, 'registry/churn/aliases.yaml'), 'utf8').replace(/production: 1/, 'production: 7\n  staging: 1'),
    );
    expect(listModels(repo)[0]).toMatchObject({ aliases: { production: 7, staging: 1 }, danglingAliases: ['production'] });
  });

  it('refuses unknown names, versions and aliases, bad aliases and changed packages', async () => {
    const { root, repo } = await setup();
    await packageModel({ cwd: root, repo, file: 'v1.onnx', name: 'churn', track: false });
    await registerModel(repo, { cwd: root, package: 'models/churn' });
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return isMloError(err) ? err.code : String(err);
      }
      return 'no error';
    };
    expect(code(() => resolveVersion(repo, parseRef('nope')))).toBe('MLO_UNKNOWN_MODEL');
    expect(code(() => resolveVersion(repo, parseRef('churn@7')))).toBe('MLO_UNKNOWN_VERSION');
    expect(code(() => resolveVersion(repo, parseRef('churn@staging')))).toBe('MLO_UNKNOWN_ALIAS');
    expect(code(() => parseRef('Bad Name'))).toBe('MLO_BAD_REF');
    await expect(promoteModel(repo, { ref: 'churn@1', to: 'latest' })).rejects.toMatchObject({ code: 'MLO_BAD_ALIAS' });
    writeFileSync(join(root, 'models/churn/model.onnx'), Buffer.from(buildMlp({ inFeatures: 3, hidden: 2, outFeatures: 1 })));
    await expect(registerModel(repo, { cwd: root, package: 'models/churn' })).rejects.toMatchObject({ code: 'MLO_PACKAGE_CHANGED' });
    await expect(registerModel(repo, { cwd: root, package: 'v1.onnx' })).rejects.toMatchObject({ code: 'MLO_NOT_A_PACKAGE' });
  });
});
