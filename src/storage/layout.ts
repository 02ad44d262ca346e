/**
 * The object layout on every remote: the cache's own (`<hash[0:2]>/<hash[2:]>`, directory manifests
 * ending in `.dir`), so `aws s3 ls s3://bucket/prefix/ab/` shows what `ls .mlo/cache/ab/` shows.
 */
const KEY_RE = /^([0-9a-f]{2})\/([0-9a-f]{62}(?:\.dir)?)$/;

export function objectKey(hash: string): string {
  return `${hash.slice(0, 2)}/${hash.slice(2)}`;
}

/** The hash an object key holds, or undefined for keys that are not mlo objects (left alone). */
export function hashOfKey(key: string): string | undefined {
  const m = KEY_RE.exec(key);
  return m ? m[1] + m[2] : undefined;
}

export function shardOf(hash: string): string {
  return `${hash.slice(0, 2)}/`;
}

/**
 * Run-cache entries sit beside the objects under `runs/`: `runs/<key[0:2]>/<key>/<hash>.json`, where
 * key is the run's key (as in the cache's `runs/` folder) and hash the BLAKE3 of the entry's bytes, so
 * a download is checked against its name as an object is, and two machines whose runs of the same
 * inputs wrote different outputs keep both. `runs/` is not an object shard (two hex digits), so object
 * listings never include it and `gc --cloud` reads it (to keep what entries need) but never deletes it.
 */
export const RUNS_PREFIX = 'runs/';
const RUN_RE = /^runs\/([0-9a-f]{2})\/([0-9a-f]{64})\/([0-9a-f]{64})\.json$/;

export function runEntryKey(key: string, hash: string): string {
  return `${RUNS_PREFIX}${key.slice(0, 2)}/${key}/${hash}.json`;
}

/** The run key and content hash a remote key holds, or undefined for keys outside the layout (never read). */
export function runOfKey(remoteKey: string): { key: string; hash: string } | undefined {
  const m = RUN_RE.exec(remoteKey);
  return m?.[2].startsWith(m[1]) ? { key: m[2], hash: m[3] } : undefined;
}

/**
 * Run records (the `exp show` rows, shared by `mlo exp push`, `mlo exp pull` and queue workers) sit
 * under `exps/`: one JSON object per run, `exps/<run-id>.json`. A run id is random and a record is
 * written once its run has ended, so the key names the run and a second upload of the same run (a
 * retried queue job) replaces it instead of adding a duplicate. Not an object shard: `gc --cloud`
 * leaves it alone.
 */
export const EXPS_PREFIX = 'exps/';
const EXP_RE = /^exps\/([0-9A-Za-z_-]{1,64})\.json$/;

export function runRecordKey(id: string): string {
  return `${EXPS_PREFIX}${id}.json`;
}

/** The run id a remote key holds, or undefined for keys outside the layout (never read). */
export function runIdOfKey(key: string): string | undefined {
  return EXP_RE.exec(key)?.[1];
}
