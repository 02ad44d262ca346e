#!/usr/bin/env bash
# The mlo demo (`npm run demo`): the example pipeline of templates/example, end to end, in a temporary
# git repository. Needs only node, git and python3 (scikit-learn, PyTorch and onnxruntime are used
# when installed, never required). MLO_DEMO_DIR=path keeps the project there instead of a temp dir.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mlo() { node "$ROOT/bin/mlo.js" "$@"; }
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
has() { mlo "$1" --help >/dev/null 2>&1; }

if [ -n "${MLO_DEMO_DIR:-}" ]; then
  WORK="$MLO_DEMO_DIR"
  mkdir -p "$WORK"
else
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/mlo-demo.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
fi
PROJECT="$WORK/project"
REMOTE="$WORK/remote"
rm -rf "$PROJECT" "$REMOTE"
mkdir -p "$PROJECT"
cp -R "$ROOT/templates/example/." "$PROJECT/"
cd "$PROJECT"
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-mlo demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.com}"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"

step "a new project in $PROJECT"
git init -q -b main
mlo init
if has remote; then
  mlo remote add storage "$REMOTE" --default
fi
git add -A && git commit -q -m "example pipeline"

step "the pipeline"
mlo dag

step "mlo run: every stage runs (prepare -> train -> evaluate)"
mlo run
cat metrics.json
git add -A && git commit -q -m "first run"

step "mlo run again: nothing changed, nothing runs"
mlo run

step "change train.lr in params.yaml: only train and evaluate are affected"
sed -i.bak 's/^  lr: 0.5$/  lr: 0.2/' params.yaml && rm -f params.yaml.bak
mlo status
mlo run --dry
mlo run
cat metrics.json

step "change it back: the run cache restores the earlier model instead of training again"
git checkout -q params.yaml
mlo run

if has model; then
  step "the exported ONNX model"
  mlo model inspect model/model.onnx
fi

if has push && has pull && has remote; then
  step "mlo push, then a fresh clone gets everything with git clone + mlo pull, and mlo run does nothing"
  mlo push
  git clone -q "$PROJECT" "$WORK/clone"
  cd "$WORK/clone"
  mlo pull
  mlo run
  mlo status
fi

step "done"
