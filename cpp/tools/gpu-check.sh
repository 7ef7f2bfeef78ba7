#!/usr/bin/env bash
# gpu-check: one command that verifies Loupe's CUDA backend on the GPU in this machine.
#   1. configures and builds for the GPU present (its compute capability, e.g. sm_90),
#   2. runs the backend conformance suite (CPU and CUDA) and the CUDA loader tests,
#   3. runs the model's golden parity tests with LOUPE_TEST_DEVICE=cuda:0 (when built),
#   4. runs the backend benchmark (GEMM, attention, sampling, 2B- and 8B-shaped
#      decode/prefill steps),
#   5. runs end-to-end captioning through the Engine on cuda:0 (256 images x 100 new tokens,
#      greedy and with the checkpoint's sampling defaults, then greedy with decode graphs
#      off as the baseline for them) on a random-weight 2B checkpoint
#      it writes itself (no PyTorch needed), and the same workload in HF transformers when
#      torch with CUDA and transformers are importable,
# and prints a short summary. Designed to finish in under 8 minutes on an H100.
#
#   cpp/tools/gpu-check.sh [--no-bench] [--build-dir DIR] [--jobs N]
#
# LOUPE_GPU_CHECK_MODEL: checkpoint for the captioning run (default: an existing
# ~/.cache/loupe/models/qwen3vl-2b-random, else one written under the build directory).
#
# Machines without network (borrowed GPU boxes) often lack the project's Debian
# dependencies or cargo: when the full configure fails, the script builds the subset the
# check needs (core, backend, CUDA backend, model if it configures, the tests and the
# bench) from a copy of cpp/ with a reduced top-level CMakeLists. Debian packages placed
# in LOUPE_GPU_CHECK_DEBS (default .device-carry/debs) are unpacked into a private
# sysroot and used as fallbacks (openblas, nlohmann-json, gtest, pkgconf).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${LOUPE_GPU_CHECK_BUILD:-$repo/build/gpu-check}
jobs=$(nproc)
bench=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --no-bench) bench=0 ;;
    --build-dir) build=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    *) echo "usage: $0 [--no-bench] [--build-dir DIR] [--jobs N]" >&2; exit 2 ;;
  esac
  shift
done
build=$(realpath -m "$build")  # the tests run from inside it: relative paths would break
logs=$(realpath -m "${LOUPE_GPU_CHECK_LOGS:-$build/logs}")
mkdir -p "$logs"
summary=()
note() { summary+=("$1"); echo "gpu-check: $1"; }
t_start=$(date +%s)
elapsed() { echo $(( $(date +%s) - t_start ))s; }

# ---- the GPU and the compiler --------------------------------------------------------
# LOUPE_GPU_CHECK_ARCH lets the build half run on a machine without a GPU (a dry run:
# the CUDA cases then skip, and the summary says so).
if command -v nvidia-smi >/dev/null; then
  gpu=$(nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv,noheader | head -1)
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')
elif [[ -n ${LOUPE_GPU_CHECK_ARCH:-} ]]; then
  gpu="none (dry run)"; arch=$LOUPE_GPU_CHECK_ARCH
else
  echo "gpu-check: no nvidia-smi: no NVIDIA GPU here" >&2; exit 1
fi
note "GPU: $gpu -> sm_$arch"
nvcc=${CUDACXX:-$(command -v nvcc || true)}
[[ -z $nvcc && -x /usr/local/cuda/bin/nvcc ]] && nvcc=/usr/local/cuda/bin/nvcc
[[ -z $nvcc && -x $repo/.toolchain/cuda/bin/nvcc ]] && nvcc=$repo/.toolchain/cuda/bin/nvcc
if [[ -z $nvcc ]]; then echo "gpu-check: no nvcc (run scripts/install-cuda-toolchain)" >&2; exit 1; fi
note "nvcc: $nvcc ($("$nvcc" --version | tail -1)); cmake $(cmake --version | head -1 | awk '{print $3}')"

# ---- fallback dependencies from carried Debian packages --------------------------------
debs=${LOUPE_GPU_CHECK_DEBS:-$repo/.device-carry/debs}
sysroot=$build/sysroot
cmake_extra=()
if ls "$debs"/*.deb >/dev/null 2>&1; then
  mkdir -p "$sysroot"
  for d in "$debs"/*.deb; do dpkg -x "$d" "$sysroot"; done
  multiarch=$sysroot/usr/lib/x86_64-linux-gnu
  export CMAKE_PREFIX_PATH="${CMAKE_PREFIX_PATH:+$CMAKE_PREFIX_PATH:}$sysroot/usr"
  export PKG_CONFIG_PATH="${PKG_CONFIG_PATH:+$PKG_CONFIG_PATH:}$multiarch/openblas-pthread/pkgconfig:$multiarch/pkgconfig:$sysroot/usr/share/pkgconfig"
  export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$multiarch/openblas-pthread:$multiarch"
  if ! command -v pkg-config >/dev/null; then
    cmake_extra+=(-DPKG_CONFIG_EXECUTABLE=$sysroot/usr/bin/pkgconf)
    export PKG_CONFIG_SYSROOT_DIR=$sysroot
  fi
  note "fallback packages unpacked from $debs"
fi

# ---- configure and build -----------------------------------------------------------
configure() {  # $1 source dir
  cmake -S "$1" -B "$build/tree" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOUPE_CUDA=ON \
    -DLOUPE_CUDA_ARCHITECTURES="$arch" -DCMAKE_CUDA_COMPILER="$nvcc" -DCUDAToolkit_ROOT="$(dirname "$(dirname "$nvcc")")" \
    "${cmake_extra[@]}" >"$logs/configure.log" 2>&1
}
mode=full
if [[ -n ${LOUPE_GPU_CHECK_SUBSET:-} ]] || ! configure "$repo/cpp"; then
  # Subset build from a copy of cpp/: same component and test CMake files, reduced top level.
  mode=subset
  rm -rf "$build/tree" "$build/src"
  mkdir -p "$build/src"
  cp -r "$repo/cpp" "$build/src/cpp"
  ln -sfn "$repo/testdata" "$build/src/testdata"
  sed -n '/^function(loupe_test/,/^endfunction/p' "$repo/cpp/tests/CMakeLists.txt" >"$build/src/loupe_test.cmake"
  cat >"$build/src/cpp/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.25)
project(loupe_gpu_check VERSION 0.1.0 LANGUAGES C CXX)
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
set(LOUPE_CUDA "ON" CACHE STRING "")
set(LOUPE_CUDA_ARCHITECTURES "90" CACHE STRING "")
set(LOUPE_SANITIZE "" CACHE STRING "")
list(APPEND CMAKE_MODULE_PATH ${CMAKE_CURRENT_SOURCE_DIR}/cmake)
include(LoupeOptions)
find_package(nlohmann_json 3 REQUIRED)
find_package(OpenMP REQUIRED)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
include(LoupeCuda)
add_subdirectory(src/core)
add_subdirectory(src/backend)
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/src/model/CMakeLists.txt)
  add_subdirectory(src/model)
endif()
# The engine (for the captioning benchmark) needs xxhash.h: libxxhash-dev, or its .deb
# among the fallback packages.
find_path(XXHASH_HEADER xxhash.h)
if(TARGET loupe_model AND XXHASH_HEADER AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/src/engine/CMakeLists.txt)
  add_subdirectory(src/engine)
endif()
enable_testing()
find_package(GTest REQUIRED)
include(GoogleTest)
set(LOUPE_TESTDATA ${PROJECT_SOURCE_DIR}/../testdata)
include(${PROJECT_SOURCE_DIR}/../loupe_test.cmake)
add_subdirectory(tests/backend)
if(TARGET loupe_model AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/tests/model/CMakeLists.txt)
  add_subdirectory(tests/model)
endif()
add_subdirectory(bench/cuda)
EOF
  if ! configure "$build/src/cpp"; then
    tail -30 "$logs/configure.log"
    echo "gpu-check: configure failed (log: $logs/configure.log)" >&2
    exit 1
  fi
fi
note "configure: $mode build ($(elapsed))"
t_build=$(date +%s)
if ! cmake --build "$build/tree" -j"$jobs" >"$logs/build.log" 2>&1; then
  grep -E "error|Error" "$logs/build.log" | head -30
  echo "gpu-check: build failed (log: $logs/build.log)" >&2
  exit 1
fi
note "build: $(( $(date +%s) - t_build ))s with $jobs jobs"

# ---- tests ---------------------------------------------------------------------------
# Test binaries outside tests/backend find the CUDA backend through LOUPE_CUDA_LIBRARY.
cuda_lib=$(find "$build/tree" -name libloupe_cuda.so -type f | head -1)
[[ -n $cuda_lib ]] && export LOUPE_CUDA_LIBRARY=$cuda_lib
status=0
run_tests() {  # $1 label, $2 ctest include regex, $3 exclude regex
  local log=$logs/ctest-$1.log
  (cd "$build/tree" && LOUPE_TEST_DEVICE=cuda:0 LOUPE_TEST_CUDA_ATTENTION=${LOUPE_TEST_CUDA_ATTENTION:-generic} ctest -R "$2" ${3:+-E "$3"} --output-on-failure --timeout 300 >"$log" 2>&1)
  local rc=$?
  local line skipped
  line=$(grep -E "tests passed|tests failed" "$log" | tail -1)
  skipped=$(grep -c "\*\*\*Skipped" "$log")
  note "$1: ${line:-no tests found} ($skipped skipped)"
  if [[ $rc -ne 0 ]]; then
    status=1
    grep -E "^\s*[0-9]+ - .*(Failed|SEGFAULT|Timeout|Exception)" "$log" | head -20
    grep -B2 -A6 "Failure" "$log" | head -60
  fi
}
run_tests conformance "^Backends/|^CudaLoader"
# Both attention modes: the fast kernels (decode, tensor-core prefill; the default) and
# the generic scalar kernel they fall back to.
LOUPE_TEST_CUDA_ATTENTION=fast run_tests conformance-fast-attention "^Backends/.*cuda0"
cuda_skips=$(grep -c "cuda0.*\*\*\*Skipped" "$logs/ctest-conformance.log")
if [[ $cuda_skips -gt 0 ]]; then
  note "WARNING: $cuda_skips CUDA conformance cases skipped: the CUDA backend did not load"
  grep -m1 -A3 "no CUDA backend here" "$logs/ctest-conformance.log"
  status=1
fi
if [[ -d $build/tree/tests/model ]]; then
  run_tests model "Golden|Pitfall|Safetensors|TensorNames|Model|DecodeGraphs|RecordingBackend" "^Backends/|^CudaLoader"
  LOUPE_TEST_CUDA_ATTENTION=fast run_tests model-fast-attention "GoldenParity|ForwardContract|DecodeGraphs"
  # Per-stage bf16 errors against the fp32 goldens, as the parity tests print them
  # (ctest hides a passing test's output, so the binary runs once more per mode).
  parity_bin=$(find "$build/tree" -name test_model_parity -type f -perm -u+x | head -1)
  for attention in generic fast; do
    (cd "$build/tree" && LOUPE_TEST_DEVICE=cuda:0 LOUPE_TEST_CUDA_ATTENTION=$attention "$parity_bin" \
      --gtest_filter='*VisionFeatures*:*PrefillLogits*' 2>&1 | grep "^\[parity\]" >"$logs/parity-$attention.txt")
    note "parity errors ($attention attention): $logs/parity-$attention.txt"
  done
fi

# ---- benchmark -----------------------------------------------------------------------
if [[ $bench -eq 1 ]]; then
  bench_bin=$(find "$build/tree" -name bench_backend_ops -type f -perm -u+x | head -1)
  : >"$logs/bench.txt"
  for attention in generic fast; do
    # 8B shapes once, with the default (fast) kernels.
    if "$bench_bin" --device cuda:0 --attention $attention $([[ $attention == generic ]] && echo --no-8b) \
      >>"$logs/bench.txt" 2>&1; then
      note "bench ($attention attention): see below"
    else
      note "bench ($attention attention): FAILED"
      status=1
    fi
  done

  # ---- end-to-end captioning through the Engine ------------------------------------------
  caption_bin=$(find "$build/tree" -name bench_caption -type f -perm -u+x | head -1)
  : >"$logs/caption.txt"
  if [[ -z $caption_bin ]]; then
    note "captioning bench: not built (engine needs xxhash.h: add libxxhash-dev's .deb to $debs)"
    status=1
  else
    model=${LOUPE_GPU_CHECK_MODEL:-$HOME/.cache/loupe/models/qwen3vl-2b-random}
    [[ -f $model/config.json ]] || model=$build/models/qwen3vl-2b-random
    # Decode steps replay CUDA graphs by default; the last run is the eager baseline.
    for run in greedy default greedy-eager; do
      sampling=${run%-eager}
      graphs=1; [[ $run == *-eager ]] && graphs=0
      run_log=$logs/caption-$run.txt
      if "$caption_bin" --decode-graphs $([[ $graphs == 1 ]] && echo on || echo off) --model "$model" --make-random 2b --device cuda:0 --images 256 \
        --new-tokens 100 --sampling "$sampling" >"$run_log" 2>&1; then
        note "captioning ($sampling, graphs $([[ $graphs == 1 ]] && echo on || echo off)): $(grep -m1 '^images/s' "$run_log" | awk '{print $2 " images/s, limit " $3}') (model $model)"
      else
        note "captioning ($run): FAILED (log: $run_log)"
        status=1
      fi
      { echo "--- bench_caption --sampling $sampling, decode graphs $graphs"; cat "$run_log"; } >>"$logs/caption.txt"
    done
    on=$(grep -m1 '^images/s' "$logs/caption-greedy.txt" 2>/dev/null | awk '{print $2}')
    off=$(grep -m1 '^images/s' "$logs/caption-greedy-eager.txt" 2>/dev/null | awk '{print $2}')
    [[ -n $on && -n $off ]] && note "decode graphs: greedy captioning $(python3 -c "print(f'{$on / $off:.2f}')" 2>/dev/null || echo '?')x the eager steps"
    ours=$(grep '^images/s' "$logs/caption.txt" | head -1 | awk '{print $2}')
    if python3 -c "import torch, transformers; assert torch.cuda.is_available()" >/dev/null 2>&1; then
      echo "--- HF transformers (same checkpoint, greedy, static batches of 64)" >>"$logs/caption.txt"
      if python3 "$repo/cpp/bench/cuda/bench_hf_cuda.py" --model "$model" --images 256 --new-tokens 100 \
        >>"$logs/caption.txt" 2>&1; then
        hf=$(grep -m1 '^hf_images_per_s=' "$logs/caption.txt" | cut -d= -f2)
        note "HF transformers: $hf images/s; Loupe/HF = $(python3 -c "print(f'{$ours / $hf:.2f}')" 2>/dev/null || echo '?')"
      else
        note "HF transformers comparison: FAILED (log: $logs/caption.txt)"
      fi
    else
      note "HF transformers comparison: skipped (no torch with CUDA + transformers on this machine)"
    fi
  fi
fi

echo
echo "================ gpu-check summary ($(elapsed)) ================"
printf '%s\n' "${summary[@]}"
for f in "$logs"/parity-*.txt; do [[ -s $f ]] && { echo "--- $(basename "$f")"; cat "$f"; }; done
[[ $bench -eq 1 && -f $logs/bench.txt ]] && cat "$logs/bench.txt"
[[ $bench -eq 1 && -f $logs/caption.txt ]] && { echo; echo "== end-to-end captioning"; cat "$logs/caption.txt"; }
echo "result: $([[ $status -eq 0 ]] && echo PASS || echo FAIL)   logs: $logs"
exit $status
