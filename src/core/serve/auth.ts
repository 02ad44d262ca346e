/** Optional bearer-token auth for `mlo serve` (every route except health). */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Whether a request may pass: always without a token, else only with `Authorization: Bearer <token>`. */
export function bearerAuth(token: string | undefined): (req: IncomingMessage) => boolean {
  if (!token) return () => true;
  const expected = Buffer.from(`Bearer ${token}`);
  return (req) => {
    const h = req.headers.authorization;
    if (!h) return false;
    const got = Buffer.from(h);
    // Constant-time, so the answer's timing does not tell how much of a guess was right.
    return got.length === expected.length && timingSafeEqual(got, expected);
  };
}
