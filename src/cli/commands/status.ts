import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StageStatusEntry } from '../../core/pipeline/plan.js';
import { isMloError } from '../../base/errors.js';
import { commandRepo } from '../repo.js';
import { statusTargets, type StatusEntry } from '../../core/data/status.js';
import { describeMismatch } from '../../core/data/sizes.js';
import type { ActionContext, Outcome } from '../action.js';
import { stdoutColor } from '../output.js';
import { plural } from '../../base/plural.js';
import { LOCK_FILE, PIPELINE_FILE } from '../../core/repo/names.js';

export interface StatusFlags {
  /** Exit 1 when anything is out of date (`-q` implies it and prints nothing, as `dvc status -q`). */
  exitCode?: boolean;
}

export async function status({ out, flags, opts }: ActionContext<StatusFlags>, targets: string[]): Promise<Outcome> {
  const repo = commandRepo(flags);
  const entries = statusTargets(repo, { cwd: flags.cwd, targets });
  const dirty = entries.filter((e) => e.status !== 'clean' || !e.inCache || e.sizeMismatch);
  // Stage targets are stage names; path targets only filter the data section.
  let stages: StageStatusEntry[] = [];
  let pipelineError: { code: string; message: string; hint?: string } | undefined;
  try {
    // The pipeline modules load only when there is a pipeline (start-up time of a plain data status).
    if (!targets.length && existsSync(join(repo.root, PIPELINE_FILE))) stages = (await import('../../core/pipeline/plan.js')).pipelineStatus(repo);
  } catch (err) {
    // A broken mlo.yaml must not hide the data status: it is reported next to it.
    if (!isMloError(err)) throw err;
    pipelineError = { code: err.code, message: err.message, hint: err.hint };
    out.warn(`pipeline: ${err.message}`);
  }
  const changedStages = stages.filter((s) => s.changed);
  // `clean` is the gate: a broken mlo.yaml cannot be called up to date.
  const clean = dirty.length === 0 && changedStages.length === 0 && pipelineError === undefined;
  const gate = opts.exitCode || flags.quiet;
  const doc = pipelineError ? { clean, entries, stages, pipelineError } : { clean, entries, stages };
  // -q is `dvc status -q` / `git diff --quiet`: the exit code is the whole answer (--json still prints).
  if (!flags.quiet || flags.json) {
    out.result(doc, () => {
      const lines: string[] = [];
      if (entries.length === 0) lines.push('Nothing is tracked yet (track data with mlo add).');
      else if (dirty.length === 0) lines.push(`Everything is up to date (${plural(entries.length, 'tracked path')}).`);
      else lines.push(...dirty.flatMap((e) => describe(e, flags.verbose)));
      if (stages.length) lines.push(...describeStages(stages, changedStages));
      return lines;
    });
  }
  return { failed: Boolean(gate) && !clean };
}

function describeStages(stages: StageStatusEntry[], changed: StageStatusEntry[]): string[] {
  if (changed.length === 0) return [`Pipeline is up to date (${plural(stages.length, 'stage')}).`];
  // A fresh clone lacks every out: those stages need a pull, not a re-run, and the header says so.
  const pulls = changed.filter((s) => s.action === 'pull');
  const runs = changed.filter((s) => s.action !== 'pull');
  const lines: string[] = [];
  const group = (header: string, list: StageStatusEntry[]) => {
    lines.push('', header);
    for (const s of list) {
      lines.push(`  ${stdoutColor.yellow(s.name)}:`);
      for (const r of s.reasons) lines.push(`      ${r.message}`);
    }
  };
  if (pulls.length) {
    group(
      `Stages whose outs are recorded in ${LOCK_FILE} but not in the cache (${pulls.length} of ${stages.length}; mlo pull fetches them, or mlo run --pull):`,
      pulls,
    );
  }
  if (runs.length) group(`Changed stages (${runs.length} of ${stages.length}; mlo run updates them):`, runs);
  return lines;
}

function describe(e: StatusEntry, verbose: boolean): string[] {
  const lines: string[] = [];
  const label = e.stage ? `${e.path} (stage ${e.stage})` : e.path;
  if (e.status === 'deleted') lines.push(`${stdoutColor.red('deleted:')}   ${label}`);
  else if (e.status === 'modified') {
    const counts =
      e.kind === 'dir'
        ? ` (${[nonZero(e.added.length, 'added'), nonZero(e.modified.length, 'modified'), nonZero(e.deleted.length, 'deleted')].filter(Boolean).join(', ')})`
        : '';
    lines.push(`${stdoutColor.yellow('modified:')}  ${label}${counts}`);
    if (verbose && e.kind === 'dir') {
      for (const p of e.added) lines.push(`    added:    ${p}`);
      for (const p of e.modified) lines.push(`    modified: ${p}`);
      for (const p of e.deleted) lines.push(`    deleted:  ${p}`);
    }
  }
  if (e.manifestMissing) {
    // With the folder still in the workspace, adding it again writes the manifest back as well.
    const fix = e.status === 'deleted' ? 'run mlo pull' : `run mlo fetch, or mlo add ${e.path} again`;
    lines.push(
      `${stdoutColor.red('manifest missing:')} ${label} (${e.pointerFile ?? LOCK_FILE}): the list of its files is not in the cache — ${fix}; until then mlo gc refuses to run`,
    );
  } else if (!e.inCache) lines.push(`${stdoutColor.red('not in cache:')} ${label}${e.kind === 'dir' ? ` (${e.missingObjects} objects)` : ''} — run mlo pull`);
  if (e.sizeMismatch) {
    lines.push(
      `${stdoutColor.red('size mismatch:')} ${label} (${e.sizeMismatch.source}) ${describeMismatch(e.sizeMismatch)} — run mlo fsck; if the object is sound, restore the pointer from git or mlo add ${e.path} again`,
    );
  }
  return lines;
}

/** '3 added', or nothing when there are none. */
function nonZero(n: number, word: string): string {
  return n ? `${n} ${word}` : '';
}
