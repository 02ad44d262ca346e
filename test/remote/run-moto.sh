#!/usr/bin/env bash
# Runs the remote suite (test/remote) against moto_server, a second S3 implementation, when it is
# installed; exits 0 with a note when it is not. Usage: test/remote/run-moto.sh [vitest args...]
# Needs a built dist/ (npm run build). moto accepts any credentials; the suite uses test/test.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v moto_server >/dev/null 2>&1; then
  echo "run-moto: moto_server not found; skipping the moto run (pip install 'moto[server]')"
  exit 0
fi

port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
log=$(mktemp -t mlo-moto.XXXXXX)
moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
  if node -e "require('http').get('http://127.0.0.1:$port/',r=>process.exit(0)).on('error',()=>process.exit(1))" 2>/dev/null; then break; fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then echo "run-moto: moto_server exited:"; cat "$log"; exit 1; fi
  sleep 0.1
done

echo "run-moto: moto_server on port $port"
MLO_TEST_S3_ENDPOINT="http://127.0.0.1:$port" \
MLO_TEST_S3_BUCKET=mlo-test \
MLO_TEST_S3_ACCESS_KEY=test \
MLO_TEST_S3_SECRET_KEY=test \
MLO_TEST_S3_ONLY=1 \
  npx vitest run test/remote "$@"
