#include "machine_ceiling.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#if LOUPE_BENCH_HAS_DNNL
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace loupe::bench {
namespace {

using Clock = std::chrono::steady_clock;

// 8 independent 64-byte accumulators: enough loads in flight to saturate the memory
// system, and no loop-carried add chain longer than one add per 8 loads.
typedef float v16f __attribute__((vector_size(64), aligned(64)));

template <typename V>
float stream_sum(const float* data, size_t count) {
  constexpr size_t lanes = sizeof(V) / sizeof(float);
  constexpr size_t step = 8 * lanes;
  V acc[8] = {};
  const V* v = reinterpret_cast<const V*>(data);
  const size_t blocks = count / step;
  for (size_t b = 0; b < blocks; ++b, v += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += v[j];
  }
  V total = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
  float s = 0;
  for (size_t i = 0; i < lanes; ++i) s += total[i];
  return s;
}

__attribute__((target("avx512f"))) float stream_sum_avx512(const float* d, size_t n) { return stream_sum<v16f>(d, n); }

typedef float v8f __attribute__((vector_size(32), aligned(32)));
__attribute__((target("avx2"))) float stream_sum_avx2(const float* d, size_t n) { return stream_sum<v8f>(d, n); }

float stream_sum_any(const float* d, size_t n) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx512) return stream_sum_avx512(d, n);
  if (avx2) return stream_sum_avx2(d, n);
  typedef float v4f __attribute__((vector_size(16), aligned(16)));
  return stream_sum<v4f>(d, n);
}

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

}  // namespace

double measure_read_bandwidth(int threads, size_t bytes, int passes) {
  threads = std::max(1, threads);
  const size_t align = 4096;
  const size_t per_thread = (bytes / threads) / align * align;  // floats stay 64-byte blocked
  const size_t floats_per_thread = per_thread / sizeof(float);
  std::unique_ptr<float, FreeDeleter> data(static_cast<float*>(std::aligned_alloc(align, per_thread * threads)));
  if (!data) return 0;
  std::vector<std::thread> pool;
  std::atomic<float> sink{0};
  auto run_all = [&](bool fill) {
    pool.clear();
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        float* slice = data.get() + size_t(t) * floats_per_thread;
        // First touch from the reading thread places the pages on its NUMA node.
        if (fill) {
          for (size_t i = 0; i < floats_per_thread; ++i) slice[i] = float(i & 7);
        } else {
          float s = stream_sum_any(slice, floats_per_thread);
          float cur = sink.load();
          while (!sink.compare_exchange_weak(cur, cur + s)) {
          }
        }
      });
    }
    for (auto& th : pool) th.join();
  };
  run_all(true);
  double best = 0;
  for (int p = 0; p < passes; ++p) {
    const auto t0 = Clock::now();
    run_all(false);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, double(per_thread) * threads / s);
  }
  if (sink.load() == -1.f) std::abort();  // keeps the sums observable
  return best;
}

double measure_sgemm_peak(int threads, int m, int n, int k, int repeats) {
  openblas_set_num_threads(std::max(1, threads));
  std::vector<float> a(size_t(m) * k), b(size_t(n) * k), c(size_t(m) * n);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(int(i % 13) - 6) * 0.01f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = float(int(i % 7) - 3) * 0.01f;
  double best = 0;
  for (int r = 0; r < repeats + 1; ++r) {  // the first call warms caches and OpenBLAS threads
    const auto t0 = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.f, a.data(), k, b.data(), k, 0.f, c.data(), n);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r > 0) best = std::max(best, 2.0 * m * n * k / s);
  }
  return best;
}

double measure_bf16_gemm_peak(int threads, int m, int n, int k, int repeats) {
#if LOUPE_BENCH_HAS_DNNL
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  omp_set_num_threads(std::max(1, threads));
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  const memory::desc a_md({m, k}, dt::bf16, tag::ab), w_md({k, n}, dt::bf16, tag::any), c_md({m, n}, dt::f32, tag::ab);
  matmul::primitive_desc pd(matmul::desc(a_md, w_md, c_md), eng);
  memory a(pd.src_desc(), eng), w(pd.weights_desc(), eng), c(pd.dst_desc(), eng);
  // Zero-filled bf16 inputs: timing of the dot-product units does not depend on values.
  std::memset(a.get_data_handle(), 0, pd.src_desc().get_size());
  std::memset(w.get_data_handle(), 0, pd.weights_desc().get_size());
  matmul prim(pd);
  double best = 0;
  for (int r = 0; r < repeats + 1; ++r) {
    const auto t0 = Clock::now();
    prim.execute(strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, c}});
    strm.wait();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r > 0) best = std::max(best, 2.0 * m * n * k / s);
  }
  return best;
#else
  (void)threads, (void)m, (void)n, (void)k, (void)repeats;
  return 0;
#endif
}

}  // namespace loupe::bench
