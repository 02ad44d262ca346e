/**
 * A remote in a local or network folder (an NFS or SMB mount, a USB disk). Uploads are copied to a
 * temp name in the destination folder and renamed, so another reader never sees a half-written object
 * under its final name; temp names start with `.mlo-tmp-` and are never listed.
 */
import { constants, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { MloError, errnoCode, explainFsError } from '../../base/errors.js';
import { TEMP_PREFIX, tempName } from '../../base/fs.js';
import { notFoundError, type LocalSpec, type Remote, type RemoteContext, type RemoteEntry, type TransferOptions } from '../remote.js';
import { withRetries } from '../retry.js';

/** Objects at least this big are fsynced before the rename (as the cache does). */
const FSYNC_MIN = 1 << 20;

/**
 * `mkdir -p` that always ends. Node's mkdir({ recursive: true }) spins at 100% CPU forever where mkdir
 * keeps answering ENOENT although the parent exists (under /proc), so each level is made once: a
 * parent first when the folder's own mkdir says ENOENT, then the folder once more, and a second
 * ENOENT is final. A path that exists but is no folder (a file, a dangling symlink) is ENOTDIR.
 */
export async function makeFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir);
    return;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EEXIST') {
      let isDir = false;
      try {
        isDir = (await stat(dir)).isDirectory();
      } catch {
        // A dangling symlink: it exists, but leads nowhere.
      }
      if (isDir) return;
      throw Object.assign(new Error(`ENOTDIR: not a folder, mkdir '${dir}'`), { code: 'ENOTDIR', path: dir });
    }
    if (code !== 'ENOENT' || dirname(dir) === dir) throw err;
  }
  await makeFolder(dirname(dir));
  try {
    await mkdir(dir);
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST' || !(await stat(dir)).isDirectory()) throw err;
  }
}

/** A filesystem error on the remote folder as an MloError a user can act on; others are rethrown. */
export function folderError(name: string, root: string, err: unknown): unknown {
  const code = errnoCode(err);
  const reason = err instanceof Error ? err.message : String(err);
  const fix = `point the remote elsewhere with \`mlo remote modify ${name} url PATH\``;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new MloError('MLO_REMOTE_DISK_FULL', `remote '${name}': no space left on the remote folder's disk (${root})`, {
        cause: err,
        hint: `free space there (\`mlo gc --cloud\` removes unreferenced objects) and run the command again (objects already sent are skipped), or ${fix}`,
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new MloError('MLO_REMOTE_NOT_WRITABLE', `remote '${name}': remote folder ${root} is not writable (${code})`, {
        cause: err,
        hint: `check its permissions and that it is not mounted read-only, or ${fix}`,
      });
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EEXIST':
      return new MloError('MLO_REMOTE_UNAVAILABLE', `remote '${name}': remote folder ${root} cannot be created: ${reason}`, {
        cause: err,
        hint: `create it (mkdir -p ${root}), mount the share, fix a dangling symlink, or ${fix}`,
      });
    default:
      return err;
  }
}

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
  // Network shares answer EBUSY/EAGAIN/ETIMEDOUT now and then; everything else (ENOENT, ENOTDIR,
  // EACCES, EROFS, ENOSPC...) is final: a retry cannot heal it.
  const retryable = (err: unknown) => ['EBUSY', 'EAGAIN', 'ETIMEDOUT', 'ESTALE'].includes(errnoCode(err) ?? '');
  // Folders made by this process: one mkdir per shard, not per object.
  const made = new Set<string>();
  const ensureFolder = async (dir: string) => {
    if (made.has(dir)) return;
    await makeFolder(dir);
    made.add(dir);
  };

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
      await withRetries(
        ctx.retry,
        async () => {
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
        },
        retryable,
      );
    },

    async put(key, file, options: TransferOptions = {}) {
      const dest = abs(key);
      try {
        await withRetries(
          ctx.retry,
          async () => {
            await ensureFolder(dirname(dest));
            const tmp = tempName(dest);
            try {
              await copyFile(file, tmp, constants.COPYFILE_FICLONE);
              const size = options.size ?? (await stat(tmp)).size;
              if (size >= FSYNC_MIN) {
                const fh = await open(tmp, 'r+');
                try {
                  await fh.sync();
                } finally {
                  await fh.close();
                }
              }
              // Objects are immutable (their name is their content): read-only, as in the cache.
              await chmod(tmp, 0o444);
              await rename(tmp, dest);
              options.onBytes?.(size);
            } catch (err) {
              await rm(tmp, { force: true });
              if (errnoCode(err) === 'ENOENT' && !existsSync(file)) explainFsError(err, file);
              // Removed behind our back (gc of an empty shard folder): make it again on the next attempt.
              made.delete(dirname(dest));
              throw err;
            }
          },
          retryable,
        );
      } catch (err) {
        throw folderError(ctx.name, root, err);
      }
    },

    async clearStaleTemps(maxAgeMs, dry) {
      const cutoff = Date.now() - maxAgeMs;
      let count = 0;
      const walk = async (dir: string): Promise<void> => {
        let entries;
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch (err) {
          if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
          throw err;
        }
        for (const ent of entries) {
          const path = join(dir, ent.name);
          if (ent.name.startsWith(TEMP_PREFIX)) {
            try {
              if ((await stat(path)).mtimeMs >= cutoff) continue;
              if (!dry) await rm(path, { force: true, recursive: true });
              count++;
            } catch (err) {
              // Renamed into place or removed by its writer meanwhile.
              if (errnoCode(err) !== 'ENOENT') throw err;
            }
          } else if (ent.isDirectory()) {
            await walk(path);
          }
        }
      };
      await walk(root);
      return count;
    },

    async delete(keys) {
      for (const key of keys) await rm(abs(key), { force: true });
    },

    async close() {},
  };
}
