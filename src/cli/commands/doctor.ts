import { doctor as runDoctor } from '../../core/data/doctor.js';
import type { ActionContext, Outcome } from '../action.js';
import { startupInfo } from '../boot.js';
import { packageVersion } from '../main.js';

export function doctor({ out, flags }: ActionContext<object>): Outcome {
  const r = { ...runDoctor({ cwd: flags.cwd, mloVersion: packageVersion() }), startup: startupInfo() };
  const { bundle, codeCache, codeCacheSaved } = r.startup;
  out.result(r, () => [
    `mlo ${r.mlo}`,
    `node ${r.node} on ${r.platform}, ${r.cpus} cores, ${r.memoryGiB} GiB`,
    `git ${r.git ?? 'not found'}`,
    ...Object.entries(r.dependencies).map(([k, v]) => `${k} ${v}`),
    `native walker: ${r.nativeWalker ? 'built' : 'not built (walks run in JavaScript; install a C compiler and run npm run build)'}`,
    `start-up bundle: ${bundle ?? 'none (ES modules from dist/: esbuild was absent at build time, or MLO_BUNDLE=0)'}`,
    ...(bundle ? [`code cache: ${codeCache ? `${codeCache}${codeCacheSaved ? '' : ' (written after the next command)'}` : 'off (MLO_CODE_CACHE=0)'}`] : []),
    ...(r.repo
      ? [
          `repository: ${r.repo.root}`,
          `cache: ${r.repo.cache}`,
          `link types configured: ${r.repo.configuredLinkTypes.join(', ')}; used here: ${r.repo.workingLinkType ?? 'none works!'}`,
          `link types this filesystem supports: ${r.repo.supportedLinkTypes.join(', ')}`,
        ]
      : r.repoProblem
        ? [
            `repository: ${r.repoProblem.root}`,
            `problem: ${r.repoProblem.message} (${r.repoProblem.code})`,
            ...(r.repoProblem.hint ? [`to fix: ${r.repoProblem.hint}`] : []),
          ]
        : ['(not inside an mlo repository)']),
  ]);
  // The report is printed whole; the exit status still says that the repository cannot be used.
  return { failed: r.repoProblem !== undefined };
}
