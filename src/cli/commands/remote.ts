import { commandRepo } from '../repo.js';
import { addRemote, defaultRemote, listRemotes, modifyRemote, removeRemote, type RemoteInfo } from '../../core/repo/remote-config.js';
import type { ActionContext } from '../action.js';
import { table } from '../output.js';

function describe(r: RemoteInfo): string {
  const settings = Object.entries(r.settings)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${r.name}${r.default ? ' (default)' : ''}  ${r.url}${settings ? `  ${settings}` : ''}`;
}

export function add({ out, flags, opts }: ActionContext<{ default?: boolean; force?: boolean; local?: boolean }>, name: string, url: string): void {
  const repo = commandRepo(flags);
  const r = addRemote(repo, { name, url, default: opts.default, force: opts.force, local: opts.local });
  out.result(r, () => `added remote ${describe(r)} to ${r.file}`);
}

export function list({ out, flags }: ActionContext<object>): void {
  const repo = commandRepo(flags);
  const remotes = listRemotes(repo);
  out.result(remotes, () => {
    if (!remotes.length) return 'No remotes (add one with `mlo remote add NAME URL`).';
    return table(
      ['NAME', 'URL', 'SETTINGS'],
      remotes.map((r) => [
        r.default ? `${r.name} *` : r.name,
        r.url,
        Object.entries(r.settings)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      ]),
    );
  });
}

export function remove({ out, flags }: ActionContext<object>, name: string): void {
  const repo = commandRepo(flags);
  removeRemote(repo, name);
  out.result({ removed: name }, () => `removed remote ${name} (objects on it were not touched)`);
}

export function modify({ out, flags, opts }: ActionContext<{ local?: boolean; unset?: boolean }>, name: string, key: string, value: string | undefined): void {
  const repo = commandRepo(flags);
  const r = modifyRemote(repo, { name, key, value, unset: opts.unset, local: opts.local });
  out.result(r, () => (opts.unset ? `unset ${key} of remote ${name}` : `set ${key} of remote ${name}${opts.local ? ' in .mlo/config.local.yaml' : ''}`));
}

export function setDefault({ out, flags, opts }: ActionContext<{ unset?: boolean; local?: boolean }>, name: string | undefined): void {
  const repo = commandRepo(flags);
  const current = defaultRemote(repo, { name, unset: opts.unset, local: opts.local });
  out.result({ default: current ?? null }, () => current ?? 'No default remote.');
}
