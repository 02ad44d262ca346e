import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Modules that mlo loads on first use with require() (src/base/lazy-module.ts) cannot be required as
// TypeScript sources: register the vitest-imported ones so unit tests reach the same code.
import * as config from '../src/core/repo/config.js';
import { registerSourceModule } from '../src/base/lazy-module.js';
import * as pointerSchema from '../src/core/data/pointer/schema.js';

registerSourceModule(new URL('../src/core/repo/config.js', import.meta.url).href, config);
registerSourceModule(new URL('../src/core/data/pointer/schema.js', import.meta.url).href, pointerSchema);

// The mlo processes that tests start keep their V8 code cache (src/cli/boot.ts) in one folder per
// test run rather than in the user's ~/.cache.
process.env.MLO_CODE_CACHE ??= join(tmpdir(), `mlo-test-code-cache-${process.ppid}`);
