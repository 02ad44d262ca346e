import { doctor as runDoctor } from '../../core/doctor.js';
import type { ActionContext } from '../action.js';
import { packageVersion } from '../main.js';

export function doctor({ out, flags }: ActionContext<object>): void {
  const r = runDoctor({ cwd: flags.cwd, mloVersion: packageVersion() });
  out.result(r, () => [
    `mlo ${r.mlo}`,
    `node ${r.node} on ${r.platform}, ${r.cpus} cores, ${r.memoryGiB} GiB`,
    `git ${r.git ?? 'not found'}`,
    ...Object.entries(r.dependencies).map(([k, v]) => `${k} ${v}`),
    `native walker: ${r.nativeWalker ? 'built' : 'not built (walks run in JavaScript; install a C compiler and run npm run build)'}`,
    ...(r.repo
      ? [
          `repository: ${r.repo.root}`,
          `cache: ${r.repo.cache}`,
          `link types configured: ${r.repo.configuredLinkTypes.join(', ')}; used here: ${r.repo.workingLinkType ?? 'none works!'}`,
          `link types this filesystem supports: ${r.repo.supportedLinkTypes.join(', ')}`,
        ]
      : ['(not inside an mlo repository)']),
  ]);
}
