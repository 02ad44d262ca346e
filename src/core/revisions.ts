/**
 * What a git revision tracks: pointer files and mlo.lock read from git's objects (no checkout needed),
 * for diff, gc and the --rev / --all-* flags of push, fetch and pull.
 */
import { isMloError } from './errors.js';
import { listFilesAtRev, prefixInGit, readFilesAtRev, resolveRev } from './git.js';
import { parseYamlText } from './yamlfile.js';
import { parse } from 'yaml';
import { POINTER_SUFFIX, pointerSchema } from './pointer/schema.js';
import type { Repo } from './repo.js';
import { LOCK_FILE, fromPointer, outsFromLockDoc, type Tracked } from './tracked.js';

export async function trackedAtRev(repo: Repo, rev: string): Promise<Tracked[]> {
  const sha = resolveRev(repo.root, rev);
  const prefix = prefixInGit(repo.root);
  const all = listFilesAtRev(repo.root, sha);
  const inRepo = all.filter((f) => f.startsWith(prefix) && !f.startsWith(`${prefix}.mlo/`));
  const pointerPaths = inRepo.filter((f) => f.endsWith(POINTER_SUFFIX));
  const lockPath = `${prefix}${LOCK_FILE}`;
  const wanted = inRepo.includes(lockPath) ? [...pointerPaths, lockPath] : pointerPaths;
  const files = await readFilesAtRev(repo.root, sha, wanted);
  const items: Tracked[] = [];
  for (const f of files) {
    const rel = f.path.slice(prefix.length);
    const text = f.content.toString('utf8');
    if (rel === LOCK_FILE) {
      try {
        items.push(...outsFromLockDoc(parse(text)));
      } catch (err) {
        if (!isMloError(err)) continue; // An unparsable lock at an old revision tracks nothing usable.
        throw err;
      }
      continue;
    }
    const pointer = parseYamlText(text, `${rev}:${rel}`, pointerSchema).value;
    items.push(fromPointer(repo, rel, pointer));
  }
  return items;
}
