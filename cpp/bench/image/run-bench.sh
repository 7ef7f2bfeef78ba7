#!/usr/bin/env bash
# Decode + preprocess of a 12 MP JPEG to the default max pixels: Loupe vs HF (same
# machine, same file, one thread each: the engine preprocesses one image per preparation
# thread and parallelises across images). Generates the JPEG (not committed).
#   cpp/bench/image/run-bench.sh <build-dir> [iterations=10] [max_pixels=16777216]
#   env PYTHON: interpreter with transformers+torch (default: the golden venv)
set -euo pipefail
build="${1:?usage: run-bench.sh <build-dir> [iterations] [max_pixels]}"
iterations="${2:-10}"
threads=1
max_pixels="${3:-16777216}"
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-/root/.cache/loupe/golden-venv/bin/python}"
image="$(mktemp -d)/photo_12mp.jpg"
"$python" - "$image" <<'PY'
import sys
import numpy as np
from PIL import Image
h, w = 3000, 4000
rng = np.random.default_rng(0)
y, x = np.mgrid[0:h, 0:w].astype(np.float32)
img = np.stack([128 + 90 * np.sin(x / 300) * np.cos(y / 200), 128 + 90 * np.cos((x + y) / 500),
                128 + 90 * np.sin(x * y / 4e5)], -1) + rng.normal(0, 12, (h, w, 3))
Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(sys.argv[1], quality=90)
PY
echo "12 MP JPEG: $(stat -c %s "$image") bytes; threads=$threads; iterations=$iterations; max_pixels=$max_pixels"
loupe_out="$("$build/bench/image/bench_image" "$image" "$iterations" "$max_pixels")"
hf_out="$("$python" "$here/bench_hf.py" "$image" "$iterations" "$threads" "$max_pixels")"
echo "$loupe_out"
echo "$hf_out"
loupe_ms="$(echo "$loupe_out" | awk '/loupe total/ {print $4}')"
hf_ms="$(echo "$hf_out" | awk '/hf total/ {print $4}')"
awk -v l="$loupe_ms" -v h="$hf_ms" 'BEGIN {printf "speed-up vs HF (median total): %.2fx\n", h / l}'
rm -rf "$(dirname "$image")"
