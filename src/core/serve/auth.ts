/** Optional bearer-token auth for `mlo serve` (every route except health). */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Whether a request may pass: always without a token, else only with `Authorization: Bearer <token>`.
 * The scheme is matched in any case (RFC 7235 section 2.1), the token exactly.
 */
export function bearerAuth(token: string | undefined): (req: IncomingMessage) => boolean {
  if (token === undefined) return () => true;
  const expected = Buffer.from(token);
  return (req) => {
    const h = req.headers.authorization;
    if (!h || h.length < 8 || h[6] !== ' ' || h.slice(0, 6).toLowerCase() !== 'bearer') return false;
    const got = Buffer.from(h.slice(7));
    // Constant-time, so the answer's timing does not tell how much of a guess was right.
    return got.length === expected.length && timingSafeEqual(got, expected);
  };
}
