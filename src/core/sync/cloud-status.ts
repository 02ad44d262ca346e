/** status --cloud: which objects the targets need are in the cache, on the remote, in both or nowhere. */
import { statSync } from 'node:fs';
import { objectPath } from '../data/cache/objects.js';
import { missingObjects } from '../data/cache/presence.js';
import { neededObjects } from '../data/references.js';
import type { Repo } from '../repo/repo.js';
import { findOnRemote, type PresenceStrategy } from '../../storage/presence.js';
import { downloader } from './download.js';
import { withLockUnlessHeld, type SyncOptions } from './options.js';
import { syncItems } from './targets.js';

export interface CloudStatusEntry {
  path: string;
  objects: number;
  /** In the cache, not on the remote: `mlo push` sends them. */
  localOnly: number;
  /** On the remote, not in the cache: `mlo fetch` gets them. */
  remoteOnly: number;
  /** Neither in the cache nor on the remote. */
  missing: number;
}

export interface CloudStatusResult {
  remote: string;
  url: string;
  inSync: boolean;
  totals: { objects: number; both: number; localOnly: number; remoteOnly: number; missing: number };
  entries: CloudStatusEntry[];
  query: { strategy: PresenceStrategy; requests: number };
}

/**
 * Compares the objects the targets need with the cache and the remote. Always asks the remote (the
 * index of known objects is refreshed, not trusted). Directory manifests the cache lacks are fetched
 * (verified) first, since only they say which files a directory needs.
 */
export async function cloudStatus(repo: Repo, options: SyncOptions): Promise<CloudStatusResult> {
  const items = await syncItems(repo, options);
  return withLockUnlessHeld(repo, options, 'status --cloud', async () => {
    const dl = downloader(repo, { ...options, progress: undefined });
    try {
      const { remote, index, jobs, name } = await dl.open();
      await dl.manifests(items);
      const { objects } = neededObjects(repo, items);
      const absent = missingObjects(repo.cacheDir, objects.keys());
      const wanted = [...objects.values()].map((o) => ({
        hash: o.hash,
        size: o.size ?? (absent.has(o.hash) ? undefined : statSync(objectPath(repo.cacheDir, o.hash)).size),
      }));
      const found = await findOnRemote(remote, wanted, { jobs, index, trustIndex: false });
      const totals = { objects: objects.size, both: 0, localOnly: 0, remoteOnly: 0, missing: 0 };
      const classify = (h: string): keyof Omit<CloudStatusEntry, 'path' | 'objects'> | 'both' => {
        const local = !absent.has(h);
        const onRemote = found.present.has(h);
        return local && onRemote ? 'both' : local ? 'localOnly' : onRemote ? 'remoteOnly' : 'missing';
      };
      for (const h of objects.keys()) totals[classify(h)]++;
      const entries: CloudStatusEntry[] = [];
      const seen = new Set<string>();
      for (const item of items) {
        const path = item.subpath ? `${item.path}/${item.subpath}` : item.path;
        const key = `${path}\0${item.hash}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const own = neededObjects(repo, [item]).objects;
        const e: CloudStatusEntry = { path, objects: own.size, localOnly: 0, remoteOnly: 0, missing: 0 };
        for (const h of own.keys()) {
          const c = classify(h);
          if (c !== 'both') e[c]++;
        }
        entries.push(e);
      }
      entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      return {
        remote: name,
        url: remote.describe(),
        inSync: totals.localOnly + totals.remoteOnly + totals.missing === 0,
        totals,
        entries,
        query: { strategy: found.strategy, requests: found.requests },
      };
    } finally {
      await dl.close();
    }
  });
}
