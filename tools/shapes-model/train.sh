#!/usr/bin/env bash
# Regenerates the trained shapes model and everything made from it:
#   models/shapes-tiny/          the checkpoint (HF layout, bf16) + heldout_accuracy.json
#   testdata/shapes/             held-out images with HF's greedy outputs (Loupe parity tests)
#   examples/images/             demo images + captions.json, tags.json (their true answers)
#
#   tools/shapes-model/train.sh                 # CPU only, about 30-35 min on 2 cores
#   LOUPE_GOLDEN_VENV=/path tools/shapes-model/train.sh
#   SHAPES_STEPS=300 SHAPES_OUT=/tmp/s tools/shapes-model/train.sh --train-only   # quick check
#
# The venv lives outside the repo (default ~/.cache/loupe/golden-venv, shared with
# tools/golden) and is created from the pinned requirements.txt when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${SHAPES_OUT:-$repo/models/shapes-tiny}"
steps="${SHAPES_STEPS:-2400}"

source "$repo/tools/golden/venv.sh"
py="$(golden_venv_python "$here/requirements.txt")"

# Same numbers on every run: fixed hashing, two threads (reduction order depends on the
# thread count), passive OpenMP waiting so a busy machine slows it down without changing it.
export PYTHONHASHSEED=0 OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE
cd "$here"
time "$py" train.py --out "$out" --steps "$steps"
[[ "${1:-}" == "--train-only" ]] && exit 0
"$py" evaluate.py --model "$out" --count 200 --metrics "$out/heldout_accuracy.json" \
  --export "$repo/testdata/shapes" --export-count 24 --examples "$repo/examples/images"
echo "shapes model regenerated under $out"
