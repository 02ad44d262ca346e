import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ciReport, failsOn, parsePair } from '../../core/ci/report.js';
import type { FailOn } from '../../core/ci/types.js';
import { commandRepo } from '../repo.js';
import type { ActionContext, Outcome } from '../action.js';

export interface CiReportFlags {
  base: string;
  out?: string;
  validate?: string[];
  drift?: string[];
  plotsUrl?: string;
  failOn?: FailOn;
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
  const repo = commandRepo(flags);
  const report = await ciReport(repo, { cwd: flags.cwd, base: opts.base, validate, drift, plotsUrl: opts.plotsUrl });
  if (opts.out) {
    writeFileSync(resolve(flags.cwd, opts.out), report.markdown);
    out.info(`Wrote ${opts.out}${report.failed.length ? ` (failed: ${report.failed.join(', ')})` : ''}`);
  }
  out.result(report, () => (opts.out ? undefined : report.markdown.trimEnd()));
  // The report is the result whatever it says; only --fail-on makes a finding fail the CI job.
  return { failed: failsOn(report, opts.failOn) };
}
