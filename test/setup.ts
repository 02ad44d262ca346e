import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The mlo processes that tests start keep their V8 code cache (src/cli/boot.ts) in one folder per
// test run rather than in the user's ~/.cache.
process.env.MLO_CODE_CACHE ??= join(tmpdir(), `mlo-test-code-cache-${process.ppid}`);
