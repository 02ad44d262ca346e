// The start-up fast paths of `status` (native walker with in-C snapshot comparison, cached config,
// the pointer reader that needs no YAML parser) must give the answers of the slow paths.
import { appendFileSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, makeRepo, mlo, mloWith } from '../helpers.js';

const tree = () => {
  const t: Record<string, string> = {};
  for (let i = 0; i < 40; i++) t[`data/d${i % 4}/f${i}.txt`] = `file ${i}\n`;
  t['data/notes.log'] = 'a log\n';
  return t;
};

interface StatusDoc {
  clean: boolean;
  entries: { path: string; status: string; added: string[]; modified: string[]; deleted: string[] }[];
}

async function statusBoth(repo: string): Promise<StatusDoc> {
  const native = json<StatusDoc>(await mlo(repo, 'status', '--json'));
  const js = json<StatusDoc>(await mloWith({ cwd: repo, env: { MLO_NATIVE: '0' } }, 'status', '--json'));
  expect(js).toEqual(native);
  return native;
}

describe('status fast paths', () => {
  it('sees edits, additions and deletions the same way with and without the native walker', async () => {
    const repo = await makeRepo(tree());
    expect((await mlo(repo, 'add', 'data')).exitCode).toBe(0);
    expect((await statusBoth(repo)).clean).toBe(true);

    // Same size, new content, an old mtime: only the new inode (editors write a new file) tells.
    const f3 = join(repo, 'data/d3/f3.txt');
    const st = { atime: new Date(), mtime: new Date(Date.now() - 60_000) };
    rmSync(f3);
    writeFileSync(f3, 'FILE 3\n');
    utimesSync(f3, st.atime, st.mtime);
    appendFileSync(join(repo, 'data/d1/f1.txt'), 'more\n');
    writeFileSync(join(repo, 'data/d0/new.txt'), 'new\n');
    rmSync(join(repo, 'data/d2/f2.txt'));
    const doc = await statusBoth(repo);
    expect(doc.clean).toBe(false);
    const e = doc.entries[0];
    expect(e.status).toBe('modified');
    expect(e.added).toEqual(['data/d0/new.txt']);
    expect(e.modified.sort()).toEqual(['data/d1/f1.txt', 'data/d3/f3.txt']);
    expect(e.deleted).toEqual(['data/d2/f2.txt']);
  });

  it('notices a .mloignore change even though every file still matches its snapshot', async () => {
    const repo = await makeRepo(tree());
    expect((await mlo(repo, 'add', 'data')).exitCode).toBe(0);
    expect((await statusBoth(repo)).clean).toBe(true);
    writeFileSync(join(repo, '.mloignore'), '*.log\n');
    const doc = await statusBoth(repo);
    expect(doc.clean).toBe(false);
    expect(doc.entries[0].deleted).toEqual(['data/notes.log']);
  });

  it('re-records a snapshot under new ignore rules that exclude none of its files', async () => {
    const repo = await makeRepo(tree());
    expect((await mlo(repo, 'add', 'data')).exitCode).toBe(0);
    expect((await statusBoth(repo)).clean).toBe(true);
    const rulesOf = () => {
      const buf = readFileSync(join(repo, '.mlo/tmp/snapshots/data'));
      return (JSON.parse(buf.subarray(4, 4 + buf.readUInt32LE(0)).toString('utf8')) as { ignore: string }).ignore;
    };
    const before = rulesOf();
    writeFileSync(join(repo, '.mloignore'), '*.tmp\n');
    expect((await statusBoth(repo)).clean).toBe(true);
    // Recorded under the new rules, so the next walk compares in the native walker again.
    expect(rulesOf()).not.toBe(before);
    expect(rulesOf()).toContain('*.tmp');
  });

  it('re-reads the config as soon as it changes, and reports a broken one', async () => {
    const repo = await makeRepo(tree());
    const config = join(repo, '.mlo/config.yaml');
    // Old enough to be cached, then read twice (the second read comes from the cache).
    utimesSync(config, new Date(), new Date(Date.now() - 10_000));
    expect((await mlo(repo, 'status')).exitCode).toBe(0);
    expect((await mlo(repo, 'status')).exitCode).toBe(0);
    expect(readFileSync(join(repo, '.mlo/tmp/parsed/config.json'), 'utf8')).toContain('reflink');
    writeFileSync(config, 'schema: 1\ncache:\n  type: teleport\n');
    const r = await mlo(repo, 'status');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/\.mlo\/config\.yaml: cache\.type: .*teleport/);
  });

  it('reads pointers it cannot fast-parse (a description, quoted names) with the full reader', async () => {
    const repo = await makeRepo({ 'my data.csv': 'a,b\n1,2\n' });
    expect((await mlo(repo, 'add', 'my data.csv')).exitCode).toBe(0);
    const pointer = join(repo, 'my data.csv.mlo');
    writeFileSync(pointer, `${readFileSync(pointer, 'utf8')}desc: "first: a note"\n`);
    const doc = json<StatusDoc>(await mlo(repo, 'status', '--json'));
    expect(doc.entries.map((e) => [e.path, e.status])).toEqual([['my data.csv', 'clean']]);
    writeFileSync(pointer, `${readFileSync(pointer, 'utf8')}colour: blue\n`);
    const bad = await mlo(repo, 'status');
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('my data.csv.mlo');
  });
});
