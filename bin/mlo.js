#!/usr/bin/env node
// Launcher only. `mlo --version` is answered here, before commander or any core module loads,
// because start-up time is a benchmark target (at most 1.5x `node -e 0`).
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  const { main } = await import('../dist/cli/main.js');
  await main(process.argv);
}
