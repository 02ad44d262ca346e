/**
 * What `metrics diff` and `params diff` print when a comparison is not whole: a side with no files of
 * the kind, or a file a revision records that could not be read. Without these lines an empty diff
 * would read as "nothing changed" (issue 13: no silent wrong answers).
 */
import { sideProblems, type RevDiff } from '../core/tracking/revisions.js';

/** One line per problem, each naming the file, the revision and what to run; empty when the diff is whole. */
export function problemLines(diff: RevDiff, what: string): string[] {
  return [...sideProblems(diff.a, what), ...sideProblems(diff.b, what)];
}

/** The text after the table (or in its place): why the comparison is incomplete, or that nothing changed. */
export function summaryLines(diff: RevDiff, what: string, noun: string, hasRows: boolean): string[] {
  const problems = problemLines(diff, what);
  if (problems.length === 0) return hasRows ? [] : [`No ${noun} changed between ${diff.a.rev} and ${diff.b.rev}.`];
  const head = hasRows
    ? `Incomplete comparison of ${what} between ${diff.a.rev} and ${diff.b.rev}:`
    : `Could not compare ${what} between ${diff.a.rev} and ${diff.b.rev}:`;
  return [...(hasRows ? [''] : []), head, ...problems.map((p) => `  ${p}`)];
}
