/** Progress bars (on stderr, through Output) for commands that move files or objects. */
import type { Output } from './output.js';

/** Files hashed or copied by add, commit and checkout: files, bytes, rate and ETA. */
export function fileProgress(out: Output, label: string) {
  const bar = out.progress(label);
  let files = 0;
  let bytes = 0;
  let totalFiles = 0;
  let totalBytes = 0;
  return {
    onFile: (n: number) => bar.update({ files: ++files, bytes: (bytes += n) }),
    /** Bytes of a large file read so far, before its onFile (which then adds 0). */
    onBytes: (n: number) => bar.update({ files, bytes: (bytes += n) }),
    // Totals add up over the targets of one command (`mlo add a.bin b.bin`: each reports its own).
    onTotals: (t: { files: number; bytes: number }) => bar.total({ files: (totalFiles += t.files), bytes: (totalBytes += t.bytes) }),
    done: () => bar.done(),
  };
}

/** Transfer progress for push/fetch/pull: objects, bytes, rate and ETA on stderr. */
export function transferProgress(out: Output, label: string) {
  let bar: ReturnType<Output['progress']> | undefined;
  let objects = 0;
  let bytes = 0;
  return {
    start: (_phase: string, totals: { objects: number; bytes: number }) => {
      bar = out.progress(label, { files: totals.objects, bytes: totals.bytes });
    },
    bytes: (n: number) => bar?.update({ bytes: (bytes += n) }),
    object: () => bar?.update({ files: ++objects }),
    done: () => bar?.done(),
  };
}
