import { usageError } from '../../base/errors.js';
import { commandRepo } from '../repo.js';
import { startServer } from '../../core/serve/server.js';
import type { ActionContext } from '../action.js';
import { stdoutColor } from '../output.js';

export interface ServeOpts {
  port: number;
  host: string;
  split?: string;
  token?: string;
  maxBody: number;
  maxBatch: number;
  maxConnections: number;
  log?: string;
  logSample: number;
  watch: boolean;
  verify: boolean;
  rtol: number;
  atol: number;
}

/** Runs until SIGTERM or SIGINT, then stops accepting, finishes in-flight requests and returns (exit 0). */
export async function serve({ out, flags, opts }: ActionContext<ServeOpts>, models: string[]): Promise<void> {
  // An empty token would turn auth off without a word: refuse it (no flag at all serves without auth).
  if (opts.token !== undefined && opts.token.trim() === '') {
    throw usageError('--token is empty (or MLO_SERVE_TOKEN is set but empty); give a token, or unset MLO_SERVE_TOKEN to serve without auth');
  }
  // A server's events are operator logs: stderr, also under --json (stdout holds only the start-up document).
  const log = (message: string) => {
    if (!flags.quiet) process.stderr.write(`${message}\n`);
  };
  if (!opts.token && !['127.0.0.1', 'localhost', '::1'].includes(opts.host)) {
    log(`warning: listening on ${opts.host} without --token (or MLO_SERVE_TOKEN): anyone who can reach it can call the models`);
  }
  const server = await startServer({
    cwd: flags.cwd,
    repo: commandRepo(flags, { optional: true }),
    models,
    split: opts.split,
    host: opts.host,
    port: opts.port,
    token: opts.token,
    maxBody: opts.maxBody,
    maxBatch: opts.maxBatch,
    maxConnections: opts.maxConnections,
    log: opts.log ? { file: opts.log, sample: opts.logSample } : undefined,
    watch: opts.watch,
    verify: opts.verify ? { rtol: opts.rtol, atol: opts.atol } : false,
    onEvent: log,
  });
  out.result({ url: server.url, host: server.host, port: server.port, models: server.models }, () => [
    `Serving on ${stdoutColor.bold(server.url)}${opts.token ? ' (bearer token required)' : ''}`,
    ...server.models.map(
      (m) =>
        `  ${m.name}${m.version === null ? '' : `@${m.version}`}${m.weight !== undefined ? ` weight ${m.weight}` : ''}  from ${m.ref}  POST /v2/models/${m.name}/infer${m.batching ? '' : '  (no micro-batching: fixed first dimension)'}${m.verified ? '  (example verified)' : ''}`,
    ),
    `  POST /invocations (MLflow), GET /metrics, GET /v2/health/ready. Ctrl-C stops.`,
  ]);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      log(`${signal}: finishing in-flight requests`);
      void server.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  log('stopped');
}
