// CPU-backend specifics beyond the shared conformance suite (cpp/tests/backend): both bf16
// GEMM paths (streamed decode dot and converted tiles) at odd shapes, thread-count
// independence, and the thread pool itself.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/thread_pool.h"

namespace loupe {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// y = x·wᵀ in double, w given as bf16 bits.
std::vector<double> reference_linear(const std::vector<float>& x, const std::vector<uint16_t>& w, int64_t m, int64_t n,
                                     int64_t k) {
  std::vector<double> y(m * n);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double s = 0;
      for (int64_t i = 0; i < k; ++i) s += double(x[r * k + i]) * bf16_to_f32(w[c * k + i]);
      y[r * n + c] = s;
    }
  return y;
}

class CpuLinearBf16 : public testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(CpuLinearBf16, MatchesDoubleReference) {
  const auto [m, n, k] = GetParam();
  std::vector<float> x = random_values(size_t(m) * k, 1), wf = random_values(size_t(n) * k, 2);
  std::vector<uint16_t> w(wf.size());
  for (size_t i = 0; i < w.size(); ++i) w[i] = f32_to_bf16(wf[i]);
  std::vector<float> bias = random_values(n, 3);
  for (int threads : {1, 2, 3}) {
    CpuBackend be(threads);
    be.set_bf16_activations(cpu::Bf16Activations::Exact);  // fp32 x against the double reference
    std::vector<float> y(size_t(m) * n);
    Tensor tx(x.data(), DType::F32, {m, k}), tw(w.data(), DType::BF16, {n, k}), ty(y.data(), DType::F32, {m, n});
    Tensor tb(bias.data(), DType::F32, {n});
    be.linear(ty, tx, tw, &tb);
    const std::vector<double> ref = reference_linear(x, w, m, n, k);
    for (int64_t i = 0; i < int64_t(y.size()); ++i)
      ASSERT_NEAR(y[i], ref[i] + bias[i % n], 1e-4 * std::sqrt(double(k))) << "threads " << threads << " at " << i;
  }
}

// m <= 4 takes the streamed dot path, larger m the converted-tile sgemm path; n above the
// tile size (2^20 / k rows) crosses tile boundaries.
INSTANTIATE_TEST_SUITE_P(Shapes, CpuLinearBf16,
                         testing::Values(std::tuple{1, 1, 1}, std::tuple{1, 37, 129}, std::tuple{4, 300, 17},
                                         std::tuple{5, 33, 64}, std::tuple{67, 130, 255},
                                         std::tuple{9, 9000, 200}));

TEST(CpuBackend, ResultsDoNotDependOnThreadCount) {
  const int64_t n = 300, heads = 4, d = 16;
  std::vector<float> q = random_values(n * heads * d, 4), k = random_values(n * heads * d, 5),
                     v = random_values(n * heads * d, 6);
  std::vector<float> out1(q.size()), out2(q.size());
  for (auto [threads, out] : {std::pair{1, &out1}, std::pair{2, &out2}}) {
    CpuBackend be(threads);
    Tensor tq(q.data(), DType::F32, {n, heads, d}), tk(k.data(), DType::F32, {n, heads, d}),
        tv(v.data(), DType::F32, {n, heads, d}), to(out->data(), DType::F32, {n, heads, d});
    be.attention_segments(to, tq, tk, tv, {0, 100, 300}, 0.25f);
  }
  EXPECT_EQ(out1, out2);  // every row is computed by exactly one thread in the same order
}

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  cpu::ThreadPool pool(3);
  for (int64_t n : {1, 2, 3, 7, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    for (int round = 0; round < 50; ++round)
      pool.parallel_for(n, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[i]++;
      });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 50) << n << " " << i;
  }
}

TEST(ThreadPool, SerialWhenAskedAndSingleThreaded) {
  cpu::ThreadPool one(1);
  int calls = 0;
  one.parallel_for(100, [&](int64_t b, int64_t e) {
    ++calls;
    EXPECT_EQ(b, 0);
    EXPECT_EQ(e, 100);
  });
  EXPECT_EQ(calls, 1);
  cpu::ThreadPool many(4);
  calls = 0;
  many.parallel_for(100, [&](int64_t, int64_t) { ++calls; }, /*parallel=*/false);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace loupe

namespace loupe {
namespace {

// The vectorised tanh-GELU against double precision over the whole useful range: tiny
// arguments (where 1 − 2/(e+1) cancels), the transition, saturation (|u| past 44, where
// e^{2|u|} overflows), signed zeros, and a tail shorter than one vector.
TEST(CpuGelu, VectorisedTanhGeluMatchesDoublePrecision) {
  CpuBackend backend(2);
  std::vector<float> x;
  for (float v = -60.f; v <= 60.f; v += 0.0371f) x.push_back(v);
  for (float v = 1e-30f; v < 1e-2f; v *= 1.7f) {
    x.push_back(v);
    x.push_back(-v);
  }
  x.push_back(0.f);
  x.push_back(-0.f);
  x.push_back(3.f);  // total not a multiple of 16: the masked tail runs
  std::vector<float> y(x.size());
  backend.gelu_tanh(Tensor{y.data(), DType::F32, {int64_t(y.size())}}, Tensor{x.data(), DType::F32, {int64_t(x.size())}});
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double ref = 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
    // Relative to max(|ref|, |x|·1e-7): fp32 rounding of the inputs alone costs ~1e-7 of |x|.
    const double err = std::abs(y[i] - ref) / std::max(std::abs(ref), std::abs(v) * 1e-7 + 1e-38);
    worst = std::max(worst, err);
    ASSERT_LE(err, 2e-6) << "x = " << x[i] << " y = " << y[i] << " ref = " << ref;
  }
  std::printf("[gelu] worst relative error %.3g over %zu values\n", worst, x.size());
}

}  // namespace
}  // namespace loupe
