#!/usr/bin/env bash
# Regenerates the Qwen3-VL-Embedding / Qwen3-VL-Reranker goldens: testdata/golden/embedding/,
# the derived checkpoints testdata/golden/models/{tiny-tied-embed,tiny-untied-nohead,tiny-reranker}/
# and testdata/images/gen_large_1900x1500.png. Needs the tiny checkpoints of make_golden.sh.
#
#   tools/golden/make_embedding_golden.sh
#
# Uses the shared golden venv (LOUPE_GOLDEN_VENV, default ~/.cache/loupe/golden-venv) and adds
# qwen-vl-utils to it from requirements-embedding.txt when it is missing. Deterministic: a
# second run rewrites byte-identical files.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
source "$here/venv.sh"
py="$(golden_venv_python "$here/requirements.txt")"
if ! "$py" -c "import qwen_vl_utils" 2>/dev/null; then
  "$py" -m pip install -r "$here/requirements-embedding.txt" >&2
fi
"$py" "$here/check_versions.py" "$here/requirements-embedding.txt"

export PYTHONHASHSEED=0 OMP_NUM_THREADS=1 CUBLAS_WORKSPACE_CONFIG=:4096:8
cd "$here"
"$py" make_embedding_golden.py --testdata "$repo/testdata"
