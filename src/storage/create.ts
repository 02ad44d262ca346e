/**
 * The one factory of remotes. The S3 implementation is imported only when a command talks to S3, so
 * `mlo --help` never loads the AWS SDK (about 60 ms of start-up).
 */
import { DEFAULT_JOBS, DEFAULT_TUNING, type Remote, type RemoteContext, type RemoteSpec, type TransferTuning } from './remote.js';
import { retryPolicyFrom } from './retry.js';

export interface CreateRemoteOptions {
  jobs?: number;
  pageSize?: number;
  tuning?: Partial<TransferTuning>;
}

export async function createRemote(name: string, spec: RemoteSpec, options: CreateRemoteOptions = {}): Promise<Remote> {
  const ctx: RemoteContext = {
    name,
    spec,
    retry: retryPolicyFrom(spec.retries),
    timeoutMs: (positive(process.env.MLO_REMOTE_TIMEOUT) ?? spec.timeout ?? 60) * 1000,
    jobs: options.jobs ?? spec.jobs ?? DEFAULT_JOBS[spec.type],
    pageSize: options.pageSize,
    tuning: { ...DEFAULT_TUNING, ...options.tuning },
  };
  switch (spec.type) {
    case 'local':
      return (await import('./remotes/local.js')).createLocalRemote(ctx, spec);
    case 's3':
      return (await import('./remotes/s3.js')).createS3Remote(ctx, spec);
  }
}

function positive(v: string | undefined): number | undefined {
  const n = Number(v);
  return v !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}
