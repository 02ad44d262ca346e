/**
 * What one job of the shared queue carries: a run id fixed at submit time (so a job run twice, after a
 * worker died, is still one run), the commit to run, the param overrides, and the mlo remote for data
 * in and results out. Jobs come from Redis, which anyone on the network may write to: the schema keeps
 * every path inside the worktree.
 */
import { z } from 'zod';
import { insideRepoPath } from '../data/pointer/paths.js';

const insideRelative = z.string().refine((p) => insideRepoPath(p) !== undefined, {
  message: 'must be a path inside the repository (no .., .git or .mlo)',
});

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const jobSpecSchema = z
  .object({
    schema: z.literal(1),
    run: z.string().regex(/^[0-9a-f]{12}$/),
    name: z.string().nullable(),
    experiment: z.string().min(1),
    commit: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/),
    /** The submitter's git remote URL, shown by `queue status`; workers fetch from their own origin. */
    gitUrl: z.string().nullable(),
    overrides: z.array(z.object({ file: insideRelative, key: z.string().min(1), value: scalar })),
    targets: z.array(z.string().min(1)),
    force: z.boolean(),
    /** The mlo remote's name in the repository's config. */
    remote: z.string().min(1),
    command: z.string(),
    submittedBy: z.string().nullable(),
  })
  .strict();

export type JobSpec = z.infer<typeof jobSpecSchema>;

/** What a job returns when it completes (BullMQ keeps it as the job's return value). */
export interface JobOutcome {
  run: string;
  status: 'finished';
  metrics: Record<string, number | string>;
  worker: string;
}
