// bench_gemm_libs: the Qwen3-VL-2B linear shapes (activations [M,K] times weights [N,K]
// transposed) through OpenBLAS cblas_sgemm and, when built with it, oneDNN matmul in fp32
// and bf16 (bf16 activations and weights, fp32 result), to choose the CPU backend's GEMM
// library on numbers, beside Loupe's own AVX512_BF16 kernel (the backend's bf16 path, weights
// read as stored). GFLOP/s, best of a few repeats, all threads.
//
//   bench_gemm_libs [--threads N] [--m 1,16,256] [--shapes 0,1]   (shape indices, default all)
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backend/cpu/cpu_gemm_bf16.h"
#include "backend/cpu/thread_pool.h"
#include "core/dtype.h"

#if LOUPE_BENCH_HAS_DNNL
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace {

using Clock = std::chrono::steady_clock;

struct Shape {
  const char* name;
  int n, k;
};

// Qwen3-VL-2B text decoder: fused q|k|v, o, fused gate|up, down, and the tied lm_head.
const Shape kShapes[] = {
    {"qkv   [4096x2048]", 4096, 2048},
    {"o     [2048x2048]", 2048, 2048},
    {"gate|up [12288x2048]", 12288, 2048},
    {"down  [2048x6144]", 2048, 6144},
    {"lm_head [151936x2048]", 151936, 2048},
};

// Weights are rotated over enough copies to exceed the last-level cache, so small-M calls
// stream their weights from memory as in a real decode step instead of reading them hot.
constexpr double kColdBytes = 256e6;
int cold_copies(double weight_bytes) { return std::max(1, int(kColdBytes / weight_bytes + 0.999)); }

// Best seconds of one call: at least 3 timed calls and ~0.3 s, after a warm-up call.
// `call(i)` uses weight copy i % copies.
double best_seconds(const std::function<void(int)>& call) {
  call(0);
  double best = 1e30, spent = 0;
  for (int r = 0; r < 3 || (spent < 0.3 && r < 50); ++r) {
    const auto t0 = Clock::now();
    call(r + 1);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::min(best, s);
    spent += s;
  }
  return best;
}

void fill(std::vector<float>& v, int salt) {
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(int((i * 2654435761u + salt) % 17) - 8) * 0.01f;
}

#if LOUPE_BENCH_HAS_DNNL
// oneDNN matmul with weights given as the checkpoint stores them ([N,K] row-major, i.e. a
// K x N matrix in `ba` order) or, `prepacked`, reordered once into oneDNN's preferred layout
// as a loader would do at load time.
double dnnl_seconds(dnnl::engine& eng, dnnl::stream& strm, int m, int n, int k, dnnl::memory::data_type dt,
                    bool prepacked, const std::vector<float>& a32, const std::vector<float>& w32) {
  using namespace dnnl;
  using tag = memory::format_tag;
  const memory::desc a_md({m, k}, dt, tag::ab);
  const memory::desc w_plain({k, n}, dt, tag::ba);
  const memory::desc w_any({k, n}, dt, tag::any);
  const memory::desc c_md({m, n}, memory::data_type::f32, tag::ab);
  matmul::primitive_desc pd(matmul::desc(a_md, prepacked ? w_any : w_plain, c_md), eng);
  // Inputs start as fp32 and are reordered (converted) into the benchmarked dtype/layout.
  memory a_src({{m, k}, memory::data_type::f32, tag::ab}, eng, const_cast<float*>(a32.data()));
  memory w_src({{k, n}, memory::data_type::f32, tag::ba}, eng, const_cast<float*>(w32.data()));
  memory a(pd.src_desc(), eng), c(pd.dst_desc(), eng);
  reorder(a_src, a).execute(strm, a_src, a);
  std::vector<memory> w(cold_copies(double(pd.weights_desc().get_size())));
  for (auto& copy : w) {
    copy = memory(pd.weights_desc(), eng);
    reorder(w_src, copy).execute(strm, w_src, copy);
  }
  strm.wait();
  matmul prim(pd);
  return best_seconds([&](int i) {
    prim.execute(strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, w[i % w.size()]}, {DNNL_ARG_DST, c}});
    strm.wait();
  });
}
#endif

// Loupe's bf16 kernel on [N,K] bf16 weights as the checkpoint stores them (cold copies as above).
double loupe_seconds(loupe::cpu::ThreadPool& pool, loupe::cpu::Bf16Activations mode, int m, int n, int k,
                     const std::vector<float>& a32,
                     const std::vector<float>& w32) {
  std::vector<uint16_t> w16(w32.size());
  for (size_t i = 0; i < w32.size(); ++i) w16[i] = loupe::f32_to_bf16(w32[i]);
  std::vector<std::vector<uint16_t>> w(cold_copies(2.0 * w16.size()), w16);
  std::vector<float> c(size_t(m) * n);
  std::vector<uint16_t> scratch;
  return best_seconds([&](int i) {
    loupe::cpu::gemm_bf16(c.data(), n, a32.data(), w[i % w.size()].data(), m, n, k, mode, scratch, pool);
  });
}

}  // namespace

int main(int argc, char** argv) {
  int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> ms = {1, 16, 256};
  std::vector<int> shapes;  // indices into kShapes; empty = all
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) {
      threads = std::max(1, std::atoi(argv[i + 1]));
    } else if (!std::strcmp(argv[i], "--m")) {
      ms.clear();
      std::stringstream ss(argv[i + 1]);
      for (std::string item; std::getline(ss, item, ',');) ms.push_back(std::atoi(item.c_str()));
    } else if (!std::strcmp(argv[i], "--shapes")) {
      std::stringstream ss(argv[i + 1]);
      for (std::string item; std::getline(ss, item, ',');) shapes.push_back(std::atoi(item.c_str()));
    } else {
      std::fprintf(stderr, "usage: bench_gemm_libs [--threads N] [--m 1,16,256] [--shapes 0,1]\n");
      return 2;
    }
  }
  openblas_set_num_threads(threads);
  loupe::cpu::ThreadPool pool(threads);
  const bool loupe_bf16 = loupe::cpu::has_avx512_bf16();
#if LOUPE_BENCH_HAS_DNNL
  omp_set_num_threads(threads);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const dnnl_version_t* v = dnnl_version();
  std::printf("threads %d, oneDNN %d.%d.%d (isa %s)\n", threads, v->major, v->minor, v->patch,
              dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core_bf16 ? "avx512_core_bf16+" : "below bf16");
  std::printf("| shape | M | OpenBLAS f32 | oneDNN f32 | oneDNN f32 prepacked | oneDNN bf16 | oneDNN bf16 prepacked | Loupe bf16 | Loupe bf16 exact-x | fastest |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
#else
  std::printf("threads %d, oneDNN not found at build time: OpenBLAS only\n", threads);
  std::printf("| shape | M | OpenBLAS f32 | Loupe bf16 |\n|---|---:|---:|---:|\n");
#endif
  for (int index = 0; index < int(std::size(kShapes)); ++index) {
    if (!shapes.empty() && std::find(shapes.begin(), shapes.end(), index) == shapes.end()) continue;
    const Shape& s = kShapes[index];
    std::vector<float> w(size_t(s.n) * s.k);
    fill(w, 1);
    std::vector<std::vector<float>> w_cold(cold_copies(4.0 * w.size()) - 1, w);  // extra fp32 copies
    for (int m : ms) {
      std::vector<float> a(size_t(m) * s.k), c(size_t(m) * s.n);
      fill(a, 2);
      const double flops = 2.0 * m * s.n * s.k;
      const double blas = flops / best_seconds([&](int i) {
        const int copy = i % int(w_cold.size() + 1);
        const float* wp = copy == 0 ? w.data() : w_cold[copy - 1].data();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, s.n, s.k, 1.f, a.data(), s.k, wp, s.k, 0.f,
                    c.data(), s.n);
      }) / 1e9;
#if LOUPE_BENCH_HAS_DNNL
      using dt = dnnl::memory::data_type;
      using loupe::cpu::Bf16Activations;
      const double results[7] = {blas, flops / dnnl_seconds(eng, strm, m, s.n, s.k, dt::f32, false, a, w) / 1e9,
                                 flops / dnnl_seconds(eng, strm, m, s.n, s.k, dt::f32, true, a, w) / 1e9,
                                 flops / dnnl_seconds(eng, strm, m, s.n, s.k, dt::bf16, false, a, w) / 1e9,
                                 flops / dnnl_seconds(eng, strm, m, s.n, s.k, dt::bf16, true, a, w) / 1e9,
                                 loupe_bf16 ? flops / loupe_seconds(pool, Bf16Activations::Rounded, m, s.n, s.k, a, w) / 1e9 : 0.0,
                                 loupe_bf16 ? flops / loupe_seconds(pool, Bf16Activations::Exact, m, s.n, s.k, a, w) / 1e9 : 0.0};
      const char* names[7] = {"OpenBLAS f32", "oneDNN f32", "oneDNN f32 prepacked", "oneDNN bf16",
                              "oneDNN bf16 prepacked", "Loupe bf16", "Loupe bf16 exact-x"};
      const int best = int(std::max_element(results, results + 7) - results);
      std::printf("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %s (%.2fx OpenBLAS) |\n", s.name, m,
                  results[0], results[1], results[2], results[3], results[4], results[5], results[6], names[best],
                  results[best] / results[0]);
#else
      std::printf("| %s | %d | %.1f | %.1f |\n", s.name, m, blas,
                  loupe_bf16 ? flops / loupe_seconds(pool, loupe::cpu::Bf16Activations::Rounded, m, s.n, s.k, a, w) / 1e9
                             : 0.0);
#endif
      std::fflush(stdout);
    }
  }
  std::printf("(GFLOP/s; weights [N,K], rotated over >= %.0f MB of copies so they come from memory, not cache;\n"
              " bf16: bf16 activations and weights, fp32 output; prepacked: weights reordered once into oneDNN's\n"
              " blocked layout, as a loader would at load time; Loupe bf16: the CPU backend's vdpbf16ps kernel on the\n"
              " weights as stored, activations rounded to bf16; exact-x: fp32 activations split into 3 bf16 parts)\n",
              kColdBytes / 1e6);
  return 0;
}
