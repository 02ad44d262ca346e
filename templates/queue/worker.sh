#!/bin/sh
# Starts one queue worker in a clone of $MLO_REPO_URL (`mlo queue worker --clone`). Everything secret
# comes from the environment:
#   MLO_REPO_URL       git URL of the repository (a token in it, or a mounted SSH key, for private ones)
#   MLO_QUEUE_BROKER   redis://[:PASSWORD@]HOST:6379/0 (overrides queue.broker in the committed config)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_REGION)   for an S3 mlo remote
#   MLO_CONCURRENCY    jobs at a time (default 1)
#   MLO_WORK           folder for the clone (default /work)
set -eu
: "${MLO_REPO_URL:?set MLO_REPO_URL to the git URL of the repository}"
: "${MLO_QUEUE_BROKER:?set MLO_QUEUE_BROKER to the Redis URL of the queue}"
# The worker clones the repository into $MLO_WORK/repo, or fetches when a volume kept that clone.
# exec: the worker gets SIGTERM itself (finishes its jobs, then exits).
exec mlo queue worker --clone "$MLO_REPO_URL" --work "${MLO_WORK:-/work}/repo" --concurrency "${MLO_CONCURRENCY:-1}" "$@"
