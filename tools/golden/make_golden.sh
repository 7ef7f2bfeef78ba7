#!/usr/bin/env bash
# Regenerates everything under testdata/golden/, testdata/tokenizer/ and testdata/images/
# (the files other tests read). Needs network access to PyPI only the first time (venv + one sample-image wheel).
#
#   tools/golden/make_golden.sh            # checkpoints, images, goldens
#   LOUPE_GOLDEN_VENV=/path tools/golden/make_golden.sh
#
# The venv lives outside the repo (default ~/.cache/loupe/golden-venv) and is created from
# the pinned requirements.txt when missing. Everything runs on the CPU in fp32.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${LOUPE_GOLDEN_CACHE:-$HOME/.cache/loupe/golden-cache}"
source "$here/venv.sh"
py="$(golden_venv_python "$here/requirements.txt")"

# Public-domain / CC0 sample photos ship inside scikit-image's wheel (skimage/data).
wheel_dir="$cache/wheels"
mkdir -p "$wheel_dir"
wheel="$(ls "$wheel_dir"/scikit_image-0.26.0-*.whl 2>/dev/null | head -n1 || true)"
if [[ -z "$wheel" ]]; then
  "$py" -m pip download --no-deps --only-binary=:all: scikit-image==0.26.0 -d "$wheel_dir" >/dev/null
  wheel="$(ls "$wheel_dir"/scikit_image-0.26.0-*.whl | head -n1)"
fi

export PYTHONHASHSEED=0 OMP_NUM_THREADS=1 CUBLAS_WORKSPACE_CONFIG=:4096:8
cd "$here"
"$py" make_checkpoints.py --testdata "$repo/testdata" --skimage-wheel "$wheel"
"$py" make_cases.py --testdata "$repo/testdata"
"$py" make_tokenizer_golden.py
"$py" verify_facts.py --testdata "$repo/testdata"
echo "golden kit regenerated under $repo/testdata"
