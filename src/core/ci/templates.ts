/**
 * CI workflow templates that `mlo init --template NAME` copies into a repository. The files live in
 * the package's templates/ci/ folder, next to dist/, so that they stay plain YAML a user can read
 * before installing them.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errnoCode, MloError, usageError } from '../../base/errors.js';
import { toPosix, writeFileAtomic } from '../../base/fs.js';
import { gitTopLevel } from '../../base/git.js';

export const CI_TEMPLATES = {
  github: { title: 'GitHub Actions', source: 'github/mlo.yml', target: '.github/workflows/mlo.yml' },
  gitlab: { title: 'GitLab CI', source: 'gitlab/.gitlab-ci.yml', target: '.gitlab-ci.yml' },
} as const;

export type CiTemplateName = keyof typeof CI_TEMPLATES;

export const CI_TEMPLATE_NAMES = Object.keys(CI_TEMPLATES) as CiTemplateName[];

// From dist/core/ci/templates.js (and src/core/ci/templates.ts) three levels up is the package root.
const TEMPLATE_DIR = fileURLToPath(new URL('../../../templates/ci/', import.meta.url));

/** Checks a `--template` value; a usage error lists the names. */
export function ciTemplateName(name: string): CiTemplateName {
  if (!Object.hasOwn(CI_TEMPLATES, name)) {
    throw usageError(`unknown CI template '${name}'`, `use one of: ${CI_TEMPLATE_NAMES.join(', ')}`);
  }
  return name as CiTemplateName;
}

export interface InstallTemplateOptions {
  /** The mlo project root. The file goes to the root of its git work tree: CI services read it only there. */
  root: string;
  name: string;
  /** Replace an existing file. */
  force?: boolean;
}

export interface InstalledTemplate {
  name: CiTemplateName;
  title: string;
  /** The written file. */
  file: string;
  /** Relative to the git work-tree root, POSIX separators. */
  path: string;
  overwritten: boolean;
  /**
   * The mlo project's folder inside the git work tree when it is not the top: the workflow runs mlo at
   * the top, so its steps need this as their working directory.
   */
  subfolder: string | null;
}

/** The text of a template, as shipped. */
export function ciTemplateText(name: string): string {
  return readFileSync(join(TEMPLATE_DIR, CI_TEMPLATES[ciTemplateName(name)].source), 'utf8');
}

export function installCiTemplate({ root, name, force }: InstallTemplateOptions): InstalledTemplate {
  const checked = ciTemplateName(name);
  const { title, target } = CI_TEMPLATES[checked];
  const text = ciTemplateText(checked);
  const top = gitTopLevel(root) ?? root;
  const file = join(top, target);
  const existed = existsSync(file);
  if (force) writeFileAtomic(file, text, { fsync: false });
  else {
    mkdirSync(dirname(file), { recursive: true });
    try {
      // 'wx' rather than a check first: a file that appears in between is still never overwritten.
      writeFileSync(file, text, { flag: 'wx' });
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      throw new MloError('MLO_FILE_EXISTS', `${target} already exists; mlo init leaves it alone`, {
        hint: `compare it with the ${title} template and merge by hand, or run mlo init --template ${checked} --force to replace it`,
      });
    }
  }
  const sub = toPosix(relative(top, realpathSync(root)));
  return { name: checked, title, file, path: target, overwritten: Boolean(force) && existed, subfolder: sub === '' ? null : sub };
}
