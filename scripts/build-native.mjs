// Builds the optional native walker (native/fswalk.c) into build/fswalk.node with the system C
// compiler. mlo works without it (a JavaScript walk does the same job, ~3x slower on large trees), so a
// missing compiler or headers is a note, never a failed install. MLO_NATIVE=0 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');
const source = join(root, 'native', 'fswalk.c');
const target = join(root, 'build', 'fswalk.node');

function note(message) {
  process.stderr.write(`build-native: ${message}; mlo will use its JavaScript walk\n`);
}

/** Node-API headers: the node-api-headers package when installed, else the ones beside this node. */
function headerDir() {
  try {
    const pkg = createRequire(import.meta.url).resolve('node-api-headers/package.json');
    const dir = join(dirname(pkg), 'include');
    if (existsSync(join(dir, 'node_api.h'))) return dir;
  } catch {
    // Not installed (a production install): try the headers that ship with node.
  }
  const besideNode = join(dirname(process.execPath), '..', 'include', 'node');
  return existsSync(join(besideNode, 'node_api.h')) ? besideNode : undefined;
}

function main() {
  if (process.env.MLO_NATIVE === '0') return note('skipped (MLO_NATIVE=0)');
  if (process.platform === 'win32') return note('not built on Windows');
  if (existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs) return;
  const include = headerDir();
  if (!include) return note('no Node-API headers found');
  const cc = process.env.CC || 'cc';
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  const flags = ['-O2', '-shared', '-fPIC', '-pthread', '-Wall', `-I${include}`, source, '-o', tmp];
  // macOS resolves Node-API symbols from the node binary at load time.
  if (process.platform === 'darwin') flags.unshift('-undefined', 'dynamic_lookup');
  const r = spawnSync(cc, flags, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error || r.status !== 0) {
    rmSync(tmp, { force: true });
    return note(r.error ? `no C compiler (${cc})` : `${cc} failed`);
  }
  renameSync(tmp, target);
}

main();
