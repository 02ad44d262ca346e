import { MloError } from '../../base/errors.js';
import { fsckCache } from '../../core/data/fsck.js';
import type { BrokenRecord } from '../../core/data/tracked.js';
import { describeMismatch } from '../../core/data/sizes.js';
import { commandRepo } from '../repo.js';
import type { ActionContext } from '../action.js';
import { formatBytes } from '../output.js';
import { plural } from '../../base/plural.js';

export async function fsck({ out, flags, opts }: ActionContext<{ remove?: boolean }>): Promise<void> {
  const repo = commandRepo(flags);
  const bar = out.progress('checking');
  let n = 0;
  let bytes = 0;
  const r = await fsckCache(repo, { remove: opts.remove, onObject: (b) => bar.update({ files: ++n, bytes: (bytes += b) }) }).finally(bar.done);
  const lines = r.problems.map(
    (p) =>
      `${p.problem}: ${p.hash}${p.usedBy ? ` (used by ${p.usedBy})` : ''}, ${formatBytes(p.size)}${p.expectedSize !== undefined ? ` of ${formatBytes(p.expectedSize)}` : ''}${p.removed ? ', removed' : ''}`,
  );
  for (const m of r.missingManifests) lines.push(`manifest missing: ${m.hash} (directory ${m.path}, ${m.source})`);
  for (const m of r.sizeMismatches) lines.push(`size mismatch: ${m.path} (${m.source}) ${describeMismatch(m)}`);
  for (const b of r.brokenFiles) lines.push(`unreadable: ${named(b)}`);
  if (lines.length === 0) {
    out.result(r, () => `checked ${r.checked} objects (${formatBytes(r.bytes)}): no problems`);
    return;
  }
  if (!flags.json) out.result(r, () => lines);
  const missing = r.missingManifests;
  const dirs = missing.length ? `the manifest of ${missing.map((m) => m.path).join(', ')} is not in the cache` : '';
  const broken = r.brokenFiles;
  const unreadable = broken.length ? `${plural(broken.length, 'pointer or lock record', 'pointer or lock records')} cannot be read (${named(broken[0])})` : '';
  if (r.problems.length === 0 && missing.length === 0 && broken.length > 0) {
    throw new MloError('MLO_BROKEN_FILES', `${unreadable}; what ${broken.length === 1 ? 'it tracks' : 'they track'} was not checked`, {
      hint: 'restore them from git (git checkout FILE), or fix the line named; `mlo add` or `mlo run` writes them again',
      meta: { result: r },
    });
  }
  if (r.problems.length === 0 && missing.length === 0) {
    const first = r.sizeMismatches[0];
    throw new MloError(
      'MLO_SIZE_MISMATCH',
      `${plural(r.sizeMismatches.length, 'pointer')} ${r.sizeMismatches.length === 1 ? 'records' : 'record'} a size the cache does not hold (${first.source}: ${first.path} ${describeMismatch(first)})`,
      { hint: 'restore the pointer from git, or run mlo add on the right data', meta: { result: r } },
    );
  }
  if (r.problems.length === 0) {
    throw new MloError(
      'MLO_MISSING_MANIFEST',
      `${plural(missing.length, 'tracked directory', 'tracked directories')} cannot be listed: ${dirs}${unreadable ? `, and ${unreadable}` : ''}`,
      {
        hint: 'get the manifest back with `mlo fetch` or `mlo pull`, or add the directory again with `mlo add`; until then `mlo gc` refuses to run',
        meta: { result: r },
      },
    );
  }
  throw new MloError(
    'MLO_CORRUPT_CACHE',
    `${r.problems.length} of ${r.checked} cache objects are corrupt or truncated${dirs ? `, and ${dirs}` : ''}${unreadable ? `, and ${unreadable}` : ''}`,
    {
      hint: opts.remove
        ? 'fetch them again with `mlo fetch`, or add the original data again'
        : 'delete them with `mlo fsck --remove`, then `mlo fetch` them again',
      meta: { result: r },
    },
  );
}

/** The message, prefixed with its file unless it names it already (pointer errors start with it). */
function named(b: BrokenRecord): string {
  return b.message.startsWith(b.file) ? b.message : `${b.file}: ${b.message}`;
}
