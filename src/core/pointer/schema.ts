/**
 * Pointer files (`PATH.mlo`, committed to git) and the path rules every file mlo reads must obey: a path
 * in a pointer, manifest or lock is relative, uses forward slashes and never climbs out with `..`, so no
 * file can make mlo write outside the repository.
 */
import { z } from 'zod';

export function isSafeRelPath(p: string): boolean {
  if (p.length === 0 || p.includes('\0') || p.includes('\\')) return false;
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return false;
  return p.split('/').every((seg) => seg !== '..' && seg !== '.' && seg !== '');
}

export const safeRelPath = z.string().refine(isSafeRelPath, {
  message: "must be a relative path inside the repository (no '..', no leading '/', no backslashes)",
});

export const fileHashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a 64-character blake3 hex digest');
export const anyHashSchema = z.string().regex(/^[0-9a-f]{64}(\.dir)?$/, "must be a 64-character blake3 hex digest (directories end in '.dir')");

export const pointerSchema = z
  .object({
    /** The tracked file or directory, relative to the pointer file's folder. */
    path: safeRelPath,
    hash: anyHashSchema,
    algo: z.literal('blake3'),
    size: z.number().int().nonnegative(),
    /** Number of files, for directories. */
    files: z.number().int().nonnegative().optional(),
    /** Free-form description, kept when mlo rewrites the file. */
    desc: z.string().optional(),
  })
  .strict();

export type Pointer = z.infer<typeof pointerSchema>;

export const POINTER_SUFFIX = '.mlo';
