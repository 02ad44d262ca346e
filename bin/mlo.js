#!/usr/bin/env node
// Launcher only. `mlo --version` is answered here, before commander or any core module loads,
// because start-up time is a benchmark target (at most 1.5x `node -e 0`).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  // The one-file bundle with V8's code cache starts ~15 ms sooner (src/cli/boot.ts). Without a
  // bundle (esbuild absent at build time), or with MLO_BUNDLE=0, the ES modules in dist/ run instead.
  const { runBundle } = await import('../dist/cli/boot.js');
  if (!(await runBundle(process.argv))) {
    const { main } = await import('../dist/cli/main.js');
    await main(process.argv);
  }
}
