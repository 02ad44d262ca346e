#!/usr/bin/env node
// Runs s3rver as its own process: `node --openssl-legacy-provider test/remote/s3rver-server.mjs DIR BUCKET [PORT]`.
// Prints one JSON line `{"port": N}` once it listens. A separate process because s3rver's continuation
// tokens use DES, which OpenSSL 3 offers only through the legacy provider (a process-wide flag), and
// because a real server does not share the client's event loop. Used by the tests and bench/remote.mjs.
import S3rver from 's3rver';

const [dir, bucket, port = '0'] = process.argv.slice(2);
if (!dir || !bucket) {
  process.stderr.write('usage: s3rver-server.mjs DIR BUCKET [PORT]\n');
  process.exit(2);
}
const server = new S3rver({ port: Number(port), address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: bucket, configs: [] }] });
const addr = await server.run();
process.stdout.write(`${JSON.stringify({ port: addr.port })}\n`);
const stop = () => server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
