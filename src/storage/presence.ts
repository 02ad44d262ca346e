/**
 * Which objects a remote holds, at a cost that fits the sizes involved. Three ways to ask:
 *   - HEAD each object: one request per object (in parallel); best for a few objects.
 *   - list the 2-hex shards the objects fall in: one request per 1,000 keys of each such shard; best
 *     when many objects fall in few, small shards.
 *   - list the whole remote: one sequential request per 1,000 keys; best for a small remote.
 * Listing one shard first estimates the remote's size (x256, the hash spreads keys evenly), and its
 * answer is reused. DVC lists shard `00` and chooses between HEAD and a full listing only; listing just
 * the shards in question avoids its misfire on big remotes (dvc-objects #178, PR #291).
 */
import { hashOfKey, objectKey, shardOf } from './layout.js';
import { runPool } from './pool.js';
import type { RemoteIndex } from './known.js';
import type { Remote, RemoteEntry } from './remote.js';

export interface Wanted {
  hash: string;
  /** Expected size; an object of another size (truncated by some other tool) counts as absent. */
  size?: number;
}

export type PresenceStrategy = 'index' | 'head' | 'shards' | 'full-listing';

export interface PresenceResult {
  /** Hashes present on the remote, with their remote size. */
  present: Map<string, number>;
  missing: Set<string>;
  strategy: PresenceStrategy;
  requests: number;
}

export interface PresenceOptions {
  jobs: number;
  /** Known objects are not asked about again (push). Status asks the remote afresh. */
  index?: RemoteIndex;
  trustIndex?: boolean;
  /** With trustIndex: entries confirmed longer ago than this are asked about again. */
  indexMaxAgeMs?: number;
}

const PAGE = 1000;
/** Up to this many objects, HEAD requests win whatever the remote's size. */
const HEAD_ALWAYS = 16;

export async function findOnRemote(remote: Remote, wanted: Wanted[], options: PresenceOptions): Promise<PresenceResult> {
  const present = new Map<string, number>();
  const expected = new Map<string, number | undefined>();
  for (const w of wanted) expected.set(w.hash, w.size);
  const accept = (hash: string, size: number): boolean => {
    if (!expected.has(hash)) return false;
    const want = expected.get(hash);
    if (want !== undefined && want !== size) return false;
    present.set(hash, size);
    return true;
  };

  let candidates = [...expected.keys()];
  if (options.index && options.trustIndex) {
    candidates = candidates.filter((h) => {
      const size = options.index!.size(objectKey(h), options.indexMaxAgeMs);
      return !(size !== undefined && accept(h, size));
    });
  }
  const result = (strategy: PresenceStrategy, requests: number): PresenceResult => {
    const missing = new Set([...expected.keys()].filter((h) => !present.has(h)));
    // Asked about and not there (or never known): whatever the index said about them is wrong.
    if (options.index && missing.size) options.index.remove([...missing].map(objectKey));
    options.index?.flush();
    return { present, missing, strategy, requests };
  };
  if (candidates.length === 0) return result('index', 0);

  const heads = async (hashes: string[]) => {
    await runPool(hashes, options.jobs, async (h) => {
      const size = await remote.head(objectKey(h));
      if (size !== undefined && accept(h, size)) options.index?.add(objectKey(h), size);
    });
    return hashes.length;
  };
  if (candidates.length <= HEAD_ALWAYS) return result('head', await heads(candidates));

  let requests = 0;
  const record = (entries: RemoteEntry[]) => {
    requests++;
    for (const e of entries) {
      const h = hashOfKey(e.key);
      if (!h) continue;
      // Everything listed is confirmed present, wanted or not: later pushes need not ask again.
      options.index?.add(e.key, e.size);
      accept(h, e.size);
    }
  };
  const listShard = async (shard: string) => {
    let pages = 0;
    let keys = 0;
    for await (const page of remote.list(shard)) {
      record(page);
      pages++;
      keys += page.length;
    }
    if (pages === 0) requests++;
    return keys;
  };

  const shards = [...new Set(candidates.map(shardOf))];
  const sampled = shards[0];
  const perShard = await listShard(sampled);
  const rest = shards.slice(1);
  const pagesPerShard = Math.max(1, Math.ceil(perShard / PAGE));
  // Compare rounds of requests (latency), `jobs` of them at a time where they can run in parallel.
  const rounds = {
    head: Math.ceil(candidates.filter((h) => shardOf(h) !== sampled).length / options.jobs),
    shards: Math.ceil(rest.length / options.jobs) * pagesPerShard,
    full: Math.ceil((perShard * 256) / PAGE),
  };
  if (rest.length === 0) return result('shards', requests);
  if (rounds.full <= rounds.shards && rounds.full <= rounds.head) {
    for await (const page of remote.list('')) record(page);
    return result('full-listing', requests);
  }
  if (rounds.shards <= rounds.head) {
    await runPool(rest, options.jobs, async (s) => void (await listShard(s)));
    return result('shards', requests);
  }
  requests += await heads(candidates.filter((h) => shardOf(h) !== sampled && !present.has(h)));
  return result('head', requests);
}
