import { initRepo } from '../../core/init.js';
import type { ActionContext } from '../action.js';

export function init({ out, flags, opts }: ActionContext<{ scm: boolean }>): void {
  const result = initRepo({ cwd: flags.cwd, noScm: !opts.scm });
  out.result(result, () =>
    result.created
      ? `Initialized mlo in ${result.root}/.mlo${result.scm ? '' : ' (no git)'}\nNext: mlo add <data>, then git add the .mlo pointer files and commit.`
      : `mlo is already initialized in ${result.root}`,
  );
}
