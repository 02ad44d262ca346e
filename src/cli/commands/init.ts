import { ciTemplateName, installCiTemplate } from '../../core/ci/templates.js';
import { usageError } from '../../base/errors.js';
import { initRepo } from '../../core/repo/init.js';
import type { ActionContext } from '../action.js';

export function init({ out, flags, opts }: ActionContext<{ scm: boolean; template?: string; force?: boolean }>): void {
  // A misspelt template name is a usage error before anything is created.
  if (opts.template !== undefined) ciTemplateName(opts.template);
  else if (opts.force)
    throw usageError('--force only applies with --template', 'mlo init never replaces files of its own; use mlo init --template NAME --force');
  const result = initRepo({ cwd: flags.cwd, noScm: !opts.scm });
  const template = opts.template === undefined ? undefined : installCiTemplate({ root: result.root, name: opts.template, force: opts.force });
  if (template?.subfolder) out.warn(`${template.path} runs mlo at the top of the git work tree; set its steps' working directory to ${template.subfolder}`);
  out.result(template ? { ...result, template } : result, () => {
    const lines = [result.created ? `Initialized mlo in ${result.root}/.mlo${result.scm ? '' : ' (no git)'}` : `mlo is already initialized in ${result.root}`];
    if (template) {
      lines.push(`${template.overwritten ? 'Replaced' : 'Wrote'} ${template.path} (${template.title}); see docs/monitoring.md#ci for the secrets it needs.`);
    }
    return lines;
  });
  // Guidance, not the result: on stderr, and silent under -q.
  if (result.created) out.info('Next: mlo add <data>, then git add the .mlo pointer files and commit.');
}
