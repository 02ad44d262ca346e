import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { usageError } from '../../base/errors.js';
import { parseGateFlag } from '../../core/ci/gates.js';
import { ciReport, failsOn, failureLines, parsePair } from '../../core/ci/report.js';
import type { FailOn } from '../../core/ci/types.js';
import { readGates } from '../../core/pipeline/gates.js';
import { commandRepo } from '../repo.js';
import type { ActionContext, Outcome } from '../action.js';

export interface CiReportFlags {
  base: string;
  out?: string;
  validate?: string[];
  drift?: string[];
  plotsUrl?: string;
  failOn?: FailOn[];
  gate?: string[];
}

export async function ciReportCmd({ out, flags, opts }: ActionContext<CiReportFlags>): Promise<Outcome> {
  // Flags are checked before any work, so a typo fails fast with exit code 2.
  const validate = (opts.validate ?? []).map((v) => {
    const [data, schema] = parsePair('--validate', v, flags.cwd);
    return { data, schema };
  });
  const drift = (opts.drift ?? []).map((v) => {
    const [reference, current] = parsePair('--drift', v, flags.cwd);
    return { reference, current };
  });
  const gates = Object.fromEntries(
    (opts.gate ?? []).map((g) => {
      const parsed = parseGateFlag(g);
      if (!parsed) throw usageError(`--gate expects METRIC=higher|lower[:THRESHOLD], got '${g}'`, 'for example --gate acc=higher:0.01 or --gate loss=lower:2%');
      return parsed;
    }),
  );
  const repo = commandRepo(flags);
  // Failing on metrics with no gate anywhere would pass every regression in silence.
  if (opts.failOn?.includes('metrics') && Object.keys(gates).length === 0 && Object.keys(readGates(repo)).length === 0) {
    throw usageError(
      '--fail-on metrics needs at least one metric gate',
      'declare gates: in mlo.yaml (acc: {better: higher, threshold: 0.01}) or pass --gate acc=higher:0.01',
    );
  }
  const report = await ciReport(repo, { cwd: flags.cwd, base: opts.base, validate, drift, plotsUrl: opts.plotsUrl, gates });
  if (opts.out) {
    writeFileSync(resolve(flags.cwd, opts.out), report.markdown);
    out.info(`Wrote ${opts.out}${report.failed.length ? ` (failed: ${report.failed.join(', ')})` : ''}`);
  }
  out.result(report, () => (opts.out ? undefined : report.markdown.trimEnd()));
  // The report is the result whatever it says; only --fail-on makes a finding fail the CI job.
  const failed = failsOn(report, opts.failOn);
  // The job log says why it failed without opening the comment.
  if (failed) for (const line of failureLines(report, opts.failOn ?? [])) out.info(`failed: ${line}`);
  return { failed };
}
