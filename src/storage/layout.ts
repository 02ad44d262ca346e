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
