// Modules that mlo loads on first use with require() (src/core/lazy-module.ts) cannot be required as
// TypeScript sources: register the vitest-imported ones so unit tests reach the same code.
import * as config from '../src/core/config.js';
import { registerSourceModule } from '../src/core/lazy-module.js';
import * as pointerSchema from '../src/core/pointer/schema.js';

registerSourceModule(new URL('../src/core/config.ts', import.meta.url).href, config);
registerSourceModule(new URL('../src/core/pointer/schema.ts', import.meta.url).href, pointerSchema);
