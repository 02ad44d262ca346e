/**
 * A remote in a local or network folder (an NFS or SMB mount, a USB disk). Uploads are copied to a
 * temp name in the destination folder and renamed, so another reader never sees a half-written object
 * under its final name; temp names start with `.mlo-tmp-` and are never listed.
 */
import { constants, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MloError, errnoCode, explainFsError } from '../../core/errors.js';
import { TEMP_PREFIX, tempName } from '../../core/fsutil.js';
import { notFoundError, type LocalSpec, type Remote, type RemoteContext, type RemoteEntry, type TransferOptions } from '../remote.js';
import { withRetries } from '../retry.js';

/** Objects at least this big are fsynced before the rename (as the cache does). */
const FSYNC_MIN = 1 << 20;

export function createLocalRemote(ctx: RemoteContext, spec: LocalSpec): Remote {
  const root = spec.path;
  const pageSize = ctx.pageSize ?? 1000;
  const abs = (key: string) => join(root, ...key.split('/'));
  const ensureRoot = () => {
    if (!existsSync(root)) {
      throw new MloError('MLO_REMOTE_UNAVAILABLE', `remote '${ctx.name}': folder ${root} does not exist`, {
        hint: `create it (mkdir -p ${root}), mount the share, or point the remote elsewhere with \`mlo remote modify ${ctx.name} url PATH\``,
      });
    }
  };
  // Network shares answer EBUSY/EAGAIN/ETIMEDOUT now and then; everything else is final.
  const retryable = (err: unknown) => ['EBUSY', 'EAGAIN', 'ETIMEDOUT', 'ESTALE'].includes(errnoCode(err) ?? '');

  return {
    name: ctx.name,
    spec,
    defaultJobs: ctx.jobs,
    describe: (key) => (key ? join(root, key) : root),

    async *list(prefix) {
      // A folder that does not exist yet is an empty remote (push creates it).
      // Walk only the folder the prefix names ('ab/' -> root/ab), not the whole remote.
      const slash = prefix.lastIndexOf('/');
      const start = slash < 0 ? '' : prefix.slice(0, slash);
      let page: RemoteEntry[] = [];
      const walk = async function* (rel: string): AsyncGenerator<RemoteEntry[]> {
        let entries;
        try {
          entries = await readdir(rel ? abs(rel) : root, { withFileTypes: true });
        } catch (err) {
          if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
          throw err;
        }
        entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const ent of entries) {
          if (ent.name.startsWith(TEMP_PREFIX)) continue;
          const key = rel ? `${rel}/${ent.name}` : ent.name;
          if (ent.isDirectory()) {
            if (prefix.startsWith(`${key}/`) || key.startsWith(prefix) || `${key}/`.startsWith(prefix)) yield* walk(key);
          } else if (ent.isFile() && key.startsWith(prefix)) {
            page.push({ key, size: (await stat(abs(key))).size });
            if (page.length >= pageSize) {
              yield page;
              page = [];
            }
          }
        }
      };
      yield* walk(start);
      if (page.length) yield page;
    },

    async head(key) {
      try {
        const st = await stat(abs(key));
        return st.isFile() ? st.size : undefined;
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
        throw err;
      }
    },

    async get(key, file, options: TransferOptions = {}) {
      ensureRoot();
      await withRetries(ctx.retry, async () => {
        try {
          // A clone where the filesystem can (same btrfs/XFS volume), else copy_file_range in the kernel.
          // The copy keeps the object's read-only mode, so a retry must remove it first.
          await rm(file, { force: true });
          await copyFile(abs(key), file, constants.COPYFILE_FICLONE);
          options.onBytes?.((await stat(file)).size);
        } catch (err) {
          if (errnoCode(err) === 'ENOENT' && !existsSync(abs(key))) throw notFoundError(ctx.name, abs(key));
          throw err;
        }
      }, retryable);
    },

    async put(key, file, options: TransferOptions = {}) {
      const dest = abs(key);
      await withRetries(ctx.retry, async () => {
        await mkdir(dirname(dest), { recursive: true });
        const tmp = tempName(dest);
        try {
          await copyFile(file, tmp, constants.COPYFILE_FICLONE);
          const size = options.size ?? (await stat(tmp)).size;
          if (size >= FSYNC_MIN) {
            const fh = await open(tmp, 'r+');
            try { await fh.sync(); } finally { await fh.close(); }
          }
          // Objects are immutable (their name is their content): read-only, as in the cache.
          await chmod(tmp, 0o444);
          await rename(tmp, dest);
          options.onBytes?.(size);
        } catch (err) {
          await rm(tmp, { force: true });
          if (errnoCode(err) === 'ENOENT' && !existsSync(file)) explainFsError(err, file);
          throw err;
        }
      }, retryable);
    },

    async delete(keys) {
      for (const key of keys) await rm(abs(key), { force: true });
    },

    async close() {},
  };
}

