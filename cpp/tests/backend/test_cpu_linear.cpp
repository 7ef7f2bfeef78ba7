// The CPU backend's bf16 and int8 linears in both activation modes (exact fp32, rounded to
// bf16) and on both paths (AVX512_BF16 kernel, portable fallback) against a double-precision
// reference, on shapes that hit every register-tile and cache-block remainder.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_gemm_bf16.h"
#include "backend/int8_weights.h"
#include "core/dtype.h"

namespace loupe::test {
namespace {

struct Case {
  int64_t m, n, k;
};

// max |y - ref| / max |ref| of one linear, weights [n, k] bf16 (or int8 with per-row
// scales), x [m, k] fp32; the reference rounds x to bf16 when the backend does.
double linear_error(CpuBackend& backend, const Case& c, std::mt19937& rng, DType wdtype = DType::BF16) {
  const bool rounded = backend.bf16_activations() == cpu::Bf16Activations::Rounded;
  std::normal_distribution<float> normal;
  std::vector<float> x(size_t(c.m * c.k)), y(size_t(c.m * c.n)), wf(size_t(c.n * c.k));
  std::vector<uint16_t> w(size_t(c.n * c.k));
  for (float& v : x) v = normal(rng);
  for (float& v : wf) v = normal(rng) / std::sqrt(float(c.k));
  std::vector<uint8_t> q(int8_weight_bytes(c.n, c.k));
  if (wdtype == DType::I8) {
    quantize_rows_int8(q.data(), c.n, c.k, 0, c.n, [&](int64_t r, int64_t i) { return wf[r * c.k + i]; });
    // The reference uses the dequantised weights, held exactly in bf16 (|q| <= 127) times the scale.
    for (int64_t o = 0; o < c.n; ++o)
      for (int64_t i = 0; i < c.k; ++i) wf[o * c.k + i] = float(int8_t(q[o * c.k + i]));
  }
  for (size_t i = 0; i < w.size(); ++i) w[i] = f32_to_bf16(wf[i]);
  Tensor xt{x.data(), DType::F32, {c.m, c.k}}, wt{w.data(), DType::BF16, {c.n, c.k}},
      yt{y.data(), DType::F32, {c.m, c.n}};
  if (wdtype == DType::I8) wt = Tensor{q.data(), DType::I8, {c.n, c.k}};
  const float* scales = int8_scales(q.data(), c.n, c.k);
  backend.linear(yt, xt, wt, nullptr);
  double max_err = 0, max_ref = 0;
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t o = 0; o < c.n; ++o) {
      double ref = 0;
      for (int64_t i = 0; i < c.k; ++i)
        ref += double(rounded ? bf16_to_f32(f32_to_bf16(x[r * c.k + i])) : x[r * c.k + i]) *
               bf16_to_f32(w[o * c.k + i]);
      if (wdtype == DType::I8) ref *= scales[o];
      max_err = std::max(max_err, std::abs(double(y[r * c.n + o]) - ref));
      max_ref = std::max(max_ref, std::abs(ref));
    }
  return max_err / std::max(max_ref, 1e-30);
}

const Case kCases[] = {{1, 1, 1},    {1, 7, 33},     {2, 13, 64},     {3, 6, 31},     {4, 12, 32},
                       {5, 37, 100}, {9, 300, 2048}, {17, 64, 6144}, {1, 2000, 512}, {64, 96, 257}};

void expect_all_cases_match(bool portable, cpu::Bf16Activations mode) {
  CpuBackend backend(2);
  backend.set_portable_kernels(portable);
  backend.set_bf16_activations(mode);
  std::mt19937 rng(7);
  for (DType wdtype : {DType::BF16, DType::I8})
    for (const Case& c : kCases)
      EXPECT_LT(linear_error(backend, c, rng, wdtype), 1e-5)
          << "m=" << c.m << " n=" << c.n << " k=" << c.k << " w=" << dtype_name(wdtype);
}

TEST(CpuLinear, Avx512Bf16KernelMatchesReference) {
  if (!cpu::has_avx512_bf16()) GTEST_SKIP() << "this CPU has no AVX512_BF16";
  expect_all_cases_match(false, cpu::Bf16Activations::Rounded);
  expect_all_cases_match(false, cpu::Bf16Activations::Exact);
}

TEST(CpuLinear, PortablePathMatchesReference) {
  expect_all_cases_match(true, cpu::Bf16Activations::Rounded);
  expect_all_cases_match(true, cpu::Bf16Activations::Exact);
}

// The exact split really carries fp32 activations: the rounded mode's error against the
// fp32 reference is orders of magnitude larger.
TEST(CpuLinear, ExactModeIsFinerThanRounded) {
  CpuBackend backend(2);
  std::mt19937 rng_a(5), rng_b(5);
  const Case c{2, 64, 1024};
  backend.set_bf16_activations(cpu::Bf16Activations::Exact);
  const double exact = linear_error(backend, c, rng_a);
  backend.set_bf16_activations(cpu::Bf16Activations::Rounded);
  // Measured against the exact reference: temporarily pretend the reference is exact.
  std::normal_distribution<float> normal;
  std::vector<float> x(size_t(c.m * c.k)), y(size_t(c.m * c.n));
  std::vector<uint16_t> w(size_t(c.n * c.k));
  for (float& v : x) v = normal(rng_b);
  for (uint16_t& v : w) v = f32_to_bf16(normal(rng_b) / std::sqrt(float(c.k)));
  Tensor xt{x.data(), DType::F32, {c.m, c.k}}, wt{w.data(), DType::BF16, {c.n, c.k}},
      yt{y.data(), DType::F32, {c.m, c.n}};
  backend.linear(yt, xt, wt, nullptr);
  double max_err = 0, max_ref = 0;
  for (int64_t r = 0; r < c.m; ++r)
    for (int64_t o = 0; o < c.n; ++o) {
      double ref = 0;
      for (int64_t i = 0; i < c.k; ++i) ref += double(x[r * c.k + i]) * bf16_to_f32(w[o * c.k + i]);
      max_err = std::max(max_err, std::abs(double(y[r * c.n + o]) - ref));
      max_ref = std::max(max_ref, std::abs(ref));
    }
  EXPECT_LT(exact, 1e-6);
  EXPECT_GT(max_err / max_ref, 100 * exact);
}

TEST(CpuLinear, ResultDoesNotDependOnThreadCount) {
  if (!cpu::has_avx512_bf16()) GTEST_SKIP() << "this CPU has no AVX512_BF16";
  CpuBackend one(1), two(2);
  one.set_bf16_activations(cpu::Bf16Activations::Rounded);
  two.set_bf16_activations(cpu::Bf16Activations::Rounded);
  std::mt19937 rng_a(3), rng_b(3);
  const Case c{6, 130, 2048};
  EXPECT_EQ(linear_error(one, c, rng_a), linear_error(two, c, rng_b));
}

}  // namespace
}  // namespace loupe::test
