/** Opens the remote a sync command uses, with its index of known objects (.mlo/tmp/remote-index). */
import { join } from 'node:path';
import { remoteJobs, resolveRemote } from '../repo/remote-config.js';
import type { Repo } from '../repo/repo.js';
import { RemoteIndex } from '../../storage/known.js';
import { createRemote } from '../../storage/create.js';
import type { Remote, RemoteSpec } from '../../storage/remote.js';
import type { SyncOptions } from './options.js';

/** An open remote with its concurrency and its index of known objects; `close` releases both. */
export interface Opened {
  name: string;
  spec: RemoteSpec;
  remote: Remote;
  jobs: number;
  index: RemoteIndex;
  close(): Promise<void>;
}

export async function openRemote(repo: Repo, options: SyncOptions): Promise<Opened> {
  const { name, spec } = resolveRemote(repo, options.remote);
  const jobs = remoteJobs(spec, options.jobs);
  const remote = await createRemote(name, spec, { jobs });
  const index = new RemoteIndex(join(repo.tmpDir, 'remote-index', `${name}.db`), remote.describe());
  return {
    name,
    spec,
    remote,
    jobs,
    index,
    close: async () => {
      index.close();
      await remote.close();
    },
  };
}
