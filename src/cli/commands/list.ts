import { isDirHash } from '../../core/data/hash/blake3.js';
import { commandRepo } from '../repo.js';
import { allTracked } from '../../core/data/tracked.js';
import type { ActionContext } from '../action.js';
import { formatBytes, table } from '../output.js';

export function list({ out, flags }: ActionContext<object>): void {
  const repo = commandRepo(flags);
  const items = allTracked(repo).map((t) => ({
    path: t.path,
    kind: isDirHash(t.hash) ? 'dir' : 'file',
    size: t.size,
    files: t.files ?? 1,
    hash: t.hash,
    source: t.stage ? `stage ${t.stage}` : t.pointerFile!,
  }));
  out.result(items, () =>
    items.length === 0
      ? 'Nothing is tracked yet (track data with mlo add).'
      : table(
          ['PATH', 'SIZE', 'FILES', 'HASH', 'SOURCE'],
          items.map((i) => [i.path + (i.kind === 'dir' ? '/' : ''), formatBytes(i.size), String(i.files), i.hash.slice(0, 12), i.source]),
        ),
  );
}
