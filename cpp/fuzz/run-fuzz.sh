#!/usr/bin/env bash
# Build the image fuzzer (clang, libFuzzer + ASan + UBSan) in its own build directory and
# run it for a bounded time on a scratch copy of the committed seed corpus.
#   cpp/fuzz/run-fuzz.sh [seconds=60]      env: LOUPE_FUZZ_BUILD_DIR, JOBS
# Prints "fuzz executions: N"; exits non-zero if the fuzzer found a crash (the reproducer
# is left in the build directory as crash-*).
set -euo pipefail
seconds="${1:-60}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${LOUPE_FUZZ_BUILD_DIR:-$root/build/fuzz}"
CC=clang CXX=clang++ cmake -S "$root/cpp" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLOUPE_BUILD_FUZZ=ON -DLOUPE_BUILD_TESTS=OFF -DLOUPE_CUDA=OFF -DLOUPE_SANITIZE="address;undefined" >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target fuzz_image
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$root/cpp/fuzz/image/corpus/"* "$work/"
log="$build/fuzz_image.log"
cd "$build"
status=0
"$build/fuzz/image/fuzz_image" -max_total_time="$seconds" -max_len=65536 -timeout=20 \
  -rss_limit_mb=2048 -print_final_stats=1 "$work" >"$log" 2>&1 || status=$?
tail -n 25 "$log"
executions="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)"
echo "fuzz executions: ${executions:-unknown} in ${seconds} s"
exit "$status"
