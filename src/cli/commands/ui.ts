import { usageError } from '../../base/errors.js';
import { commandRepo } from '../repo.js';
import type { ActionContext } from '../action.js';
import { stdoutColor } from '../output.js';

export interface UiOpts {
  port: number;
  host: string;
  token?: string;
  open?: boolean;
}

/** Serves until SIGTERM or SIGINT, then closes and returns (exit 0). */
export async function ui({ out, flags, opts }: ActionContext<UiOpts>): Promise<void> {
  if (opts.token !== undefined && opts.token.trim() === '') {
    throw usageError('--token is empty (or MLO_UI_TOKEN is set but empty); give a token, or unset MLO_UI_TOKEN');
  }
  const repo = commandRepo(flags);
  const { startUi } = await import('../../core/ui/server.js');
  const log = (message: string) => {
    if (!flags.quiet) process.stderr.write(`${message}\n`);
  };
  const server = await startUi({ repo, host: opts.host, port: opts.port, token: opts.token, onEvent: log });
  const pageUrl = opts.token ? `${server.url}/?token=${encodeURIComponent(opts.token)}` : `${server.url}/`;
  out.result({ url: server.url, host: server.host, port: server.port, root: repo.root }, () => [
    `mlo ui on ${stdoutColor.bold(pageUrl)} (read-only${opts.token ? ', token required' : ''}); Ctrl-C stops.`,
  ]);
  if (opts.open) await openBrowser(pageUrl, log);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void server.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** The desktop's opener (xdg-open, open, start); a failure is a note, not an error: the URL is printed. */
async function openBrowser(url: string, log: (m: string) => void): Promise<void> {
  const { spawn } = await import('node:child_process');
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
  child.on('error', () => log(`could not start ${cmd}; open ${url} yourself`));
  child.unref();
}
