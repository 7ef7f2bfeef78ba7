#pragma once
// The two physical ceilings every Loupe CPU figure is compared against, measured on the
// machine the benchmark runs on: streaming memory read bandwidth and peak GEMM throughput.
#include <cstddef>

namespace loupe::bench {

// All threads stream-read a private slice of an array far larger than the caches with
// wide vector loads into several independent accumulators, so the loop is bound by memory,
// not by add latency. Returns the best of `passes`, in bytes per second.
double measure_read_bandwidth(int threads, size_t bytes = size_t(1) << 30, int passes = 5);

// OpenBLAS cblas_sgemm on a model-sized fp32 problem (A [m,k] times B [n,k] transposed,
// the backend's linear layout), best of `repeats`, in FLOP per second.
double measure_sgemm_peak(int threads, int m = 1024, int n = 6144, int k = 2048, int repeats = 3);

// The same problem as a oneDNN bf16 matmul (bf16 inputs, weights prepacked, fp32 result):
// what the CPU's bf16 dot-product units reach. 0 when built without oneDNN.
double measure_bf16_gemm_peak(int threads, int m = 1024, int n = 6144, int k = 2048, int repeats = 3);

}  // namespace loupe::bench
