#!/bin/sh
# Starts one queue worker: clones $MLO_REPO_URL into /work/repo (or fetches it when the volume kept a
# clone), then runs `mlo queue worker`. Everything secret comes from the environment:
#   MLO_REPO_URL       git URL of the repository (a token in it, or a mounted SSH key, for private ones)
#   MLO_QUEUE_BROKER   redis://[:PASSWORD@]HOST:6379/0 (overrides queue.broker in the committed config)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_REGION)   for an S3 mlo remote
#   MLO_CONCURRENCY    jobs at a time (default 1)
#   MLO_WORK           folder for the clone (default /work)
set -eu
: "${MLO_REPO_URL:?set MLO_REPO_URL to the git URL of the repository}"
: "${MLO_QUEUE_BROKER:?set MLO_QUEUE_BROKER to the Redis URL of the queue}"
repo="${MLO_WORK:-/work}/repo"
if [ -d "$repo/.git" ]; then
  git -C "$repo" fetch --quiet origin
else
  git clone --quiet "$MLO_REPO_URL" "$repo"
fi
cd "$repo"
# exec: the worker gets SIGTERM itself (finishes its jobs, then exits).
exec mlo queue worker --concurrency "${MLO_CONCURRENCY:-1}" "$@"
