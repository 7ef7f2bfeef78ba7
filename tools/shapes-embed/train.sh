#!/usr/bin/env bash
# Regenerates the shapes embedding model and everything made from it:
#   models/shapes-embed-tiny/    the checkpoint (HF layout, bf16, sentence-transformers markers)
#                                + heldout_retrieval.json (HF recall on 200 held-out scenes)
#   testdata/shapes-embed/       held-out images, queries, HF embeddings and rankings (Loupe tests)
#   examples/queries.json        paraphrased queries for examples/images/ with the image each finds
#
#   tools/shapes-embed/train.sh                 # CPU only, about 12 min on 2 cores
#   LOUPE_GOLDEN_VENV=/path tools/shapes-embed/train.sh
#   EMBED_STEPS=20 EMBED_OUT=/tmp/e tools/shapes-embed/train.sh --train-only   # quick check
#
# Starts from models/shapes-tiny (the captioner); the venv is the shared golden venv
# (default ~/.cache/loupe/golden-venv), created from the pinned requirements.txt when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${EMBED_OUT:-$repo/models/shapes-embed-tiny}"
steps="${EMBED_STEPS:-320}"

source "$repo/tools/golden/venv.sh"
py="$(golden_venv_python "$here/requirements.txt")"

# Same numbers on every run: fixed hashing, two threads (reduction order depends on the
# thread count), passive OpenMP waiting so a busy machine slows it down without changing it.
export PYTHONHASHSEED=0 OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE
cd "$here"
time "$py" train.py --init "$repo/models/shapes-tiny" --out "$out" --steps "$steps"
[[ "${1:-}" == "--train-only" ]] && exit 0
"$py" evaluate.py --model "$out" --count 200 --metrics "$out/heldout_retrieval.json" \
  --export "$repo/testdata/shapes-embed" --export-count 24 --examples "$repo/examples"
echo "shapes embedding model regenerated under $out"
