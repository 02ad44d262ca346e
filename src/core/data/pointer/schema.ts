/**
 * The zod schemas of pointer files and of the paths and hashes inside every file mlo reads. The rules
 * themselves live in paths.ts, which loads without zod.
 */
import { z } from 'zod';
import { ANY_HASH_MESSAGE, ANY_HASH_RE, COUNT_MESSAGE, SAFE_PATH_MESSAGE, isSafeRelPath, type Pointer } from './paths.js';

export { POINTER_SUFFIX, isSafeRelPath, type Pointer } from './paths.js';

export const safeRelPath = z.string().refine(isSafeRelPath, { message: SAFE_PATH_MESSAGE });
export const anyHashSchema = z.string().regex(ANY_HASH_RE, ANY_HASH_MESSAGE);

/**
 * A size in bytes or a count of files. Capped at 2^53-1: beyond it a JSON or YAML number is no longer an
 * exact integer (1e300 passes `Number.isInteger`), and a committed file must not make mlo sum or print
 * absurd totals.
 */
export const countSchema = z.number({ invalid_type_error: COUNT_MESSAGE }).refine((n) => Number.isSafeInteger(n) && n >= 0, { message: COUNT_MESSAGE });

export const pointerSchema: z.ZodType<Pointer, z.ZodTypeDef, unknown> = z
  .object({
    path: safeRelPath,
    hash: anyHashSchema,
    algo: z.literal('blake3'),
    size: countSchema,
    files: countSchema.optional(),
    desc: z.string().optional(),
  })
  .strict();
