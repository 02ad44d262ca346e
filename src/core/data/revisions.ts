/**
 * What a git revision tracks: pointer files and mlo.lock read from git's objects (no checkout needed),
 * for diff, gc and the --rev / --all-* flags of push, fetch and pull.
 */
import { isMloError } from '../../base/errors.js';
import { listFilesAtRev, prefixInGit, readFilesAtRev, resolveRev } from '../../base/git.js';
import { parseYaml, parseYamlText } from '../../base/yamlfile.js';
import { POINTER_SUFFIX, pointerSchema } from './pointer/schema.js';
import type { Repo } from '../repo/repo.js';
import { LOCK_FILE } from '../repo/names.js';
import { fromPointer, outsFromLockDoc, type Tracked } from './tracked.js';

/**
 * With `salvage` (gc and the transfers of revision scopes), a pointer that does not parse at an old
 * revision still keeps the hash it names: history cannot be fixed, and refusing would block gc
 * forever, while deleting what it names could lose data. Without it (diff), such a pointer is an error.
 */
export async function trackedAtRev(repo: Repo, rev: string, options: { salvage?: boolean } = {}): Promise<Tracked[]> {
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
        items.push(...outsFromLockDoc(parseYaml(text, `${rev}:${LOCK_FILE}`, 'MLO_BAD_LOCK')));
      } catch (err) {
        if (!isMloError(err)) continue; // An unparsable lock at an old revision tracks nothing usable.
        throw err;
      }
      continue;
    }
    try {
      const pointer = parseYamlText(text, `${rev}:${rel}`, pointerSchema).value;
      items.push(fromPointer(rel, pointer));
    } catch (err) {
      const hash = options.salvage && isMloError(err) ? /^hash:\s*['"]?([0-9a-f]{64}(?:\.dir)?)['"]?\s*$/m.exec(text)?.[1] : undefined;
      const size = /^size:\s*(\d+)\s*$/m.exec(text)?.[1];
      if (!hash || size === undefined) throw err;
      items.push({ path: `${rev}:${rel.slice(0, -POINTER_SUFFIX.length)}`, hash, size: Number(size), pointerFile: rel });
    }
  }
  return items;
}
