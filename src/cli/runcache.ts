/** What fetch and pull say about the remote's run cache. */
import type { RunCacheFetchResult } from '../core/sync/run-cache-transfer.js';
import { formatBytes, type Output } from './output.js';
import { plural } from '../base/plural.js';

/** Objects a remote run-cache entry names but the remote lacks: that entry cannot restore anything here. */
export function warnRunCache(out: Output, rc: RunCacheFetchResult | undefined): void {
  const missing = rc?.objects.missing ?? [];
  if (missing.length)
    out.warn(
      `${plural(missing.length, 'object')} named by the remote's run cache ${missing.length === 1 ? 'is' : 'are'} not on the remote (${missing[0].path}); those runs will run again`,
    );
}

export function runCacheLines(rc: RunCacheFetchResult | undefined): string[] {
  if (!rc) return [];
  const o = rc.objects;
  return [
    `run cache: fetched ${plural(rc.downloaded, 'entry', 'entries')} (${rc.present} already here) and ${plural(o.downloaded, 'object')} (${formatBytes(o.bytes)}); ${o.cached} already in the cache`,
  ];
}
