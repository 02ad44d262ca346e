/**
 * The zod schemas of pointer files and of the paths and hashes inside every file mlo reads. The rules
 * themselves live in paths.ts, which loads without zod.
 */
import { z } from 'zod';
import { ANY_HASH_MESSAGE, ANY_HASH_RE, SAFE_PATH_MESSAGE, isSafeRelPath, type Pointer } from './paths.js';

export { POINTER_SUFFIX, isSafeRelPath, type Pointer } from './paths.js';

export const safeRelPath = z.string().refine(isSafeRelPath, { message: SAFE_PATH_MESSAGE });
export const anyHashSchema = z.string().regex(ANY_HASH_RE, ANY_HASH_MESSAGE);

export const pointerSchema: z.ZodType<Pointer, z.ZodTypeDef, unknown> = z
  .object({
    path: safeRelPath,
    hash: anyHashSchema,
    algo: z.literal('blake3'),
    size: z.number().int().nonnegative(),
    files: z.number().int().nonnegative().optional(),
    desc: z.string().optional(),
  })
  .strict();
