/**
 * Command results reach stdout through write(2) on fd 1. Touching process.stdout loads Node's stream
 * stack (~2 ms of every command's start-up), and on Linux Node writes stdout synchronously anyway
 * (files, pipes and terminals), so the bytes and their order are the same.
 */
import { writeSync } from 'node:fs';
import { errnoCode } from '../base/errors.js';

/** Set once a write met a non-blocking pipe: from then on Node's stream does the waiting, in order. */
let viaStream = false;

function useStream(): void {
  viaStream = true;
  // The reader may still go away while the stream waits: that is the end of the output, not a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

export function writeStdout(text: string): void {
  if (viaStream) {
    process.stdout.write(text);
    return;
  }
  let rest = Buffer.from(text);
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(1, rest));
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EAGAIN') {
        useStream();
        process.stdout.write(rest);
        return;
      }
      // The reader has gone (`mlo list | head -1`): stop writing, as git does, without an error.
      if (code === 'EPIPE') return;
      throw err;
    }
  }
}
