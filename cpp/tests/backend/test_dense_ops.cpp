// Conformance of the dense and elementwise ops: linear (with and without bias, weights
// in the activation dtype and in bf16), norms, activations, SwiGLU, RoPE, fill_zero.
#include <cmath>

#include "backend/cpu/cpu_backend.h"
#include "conformance.h"
#include "reference_ops.h"

namespace loupe::test {
namespace {

struct LinearShape {
  int64_t m, n, k;
};
// Odd sizes on purpose: single rows (decode), sizes off any tile multiple, K not a
// multiple of 8 (unaligned bf16 rows).
// 4..6 rows and 700 outputs at K 2048 cover every register-tile remainder and several L2
// blocks of the bf16 kernel.
const LinearShape kLinearShapes[] = {{1, 1, 1},     {1, 64, 16},     {7, 33, 72},    {33, 130, 100},
                                     {130, 96, 257}, {64, 512, 1024}, {5, 700, 2048}, {6, 7, 31}};

TEST_P(BackendTest, LinearMatchesReference) {
  // Weights as stored: bf16 checkpoints, fp32 checkpoints (and the activation dtype).
  std::vector<DType> weight_types{act()};
  for (DType wt : {DType::BF16, DType::F32})
    if (wt != act()) weight_types.push_back(wt);
  for (DType wt : weight_types)
    for (bool with_bias : {false, true})
      for (const auto& s : kLinearShapes) {
        std::vector<float> x, w, b;
        Buffer xd = random(act(), {s.m, s.k}, x);
        Buffer wd = random(wt, {s.n, s.k}, w, 1.0f / std::sqrt(float(s.k)));
        Buffer bd = random(act(), {s.n}, b);
        Buffer yd(backend(), act(), {s.m, s.n});
        const Tensor bias = bd;
        backend().linear(yd, xd, wd, with_bias ? &bias : nullptr);
        // The CPU backend's default rounds a bf16-weight linear's inputs to bf16 (PyTorch's
        // semantics); the reference then multiplies the same rounded inputs.
        std::vector<float> x_ref = x;
        if (wt == DType::BF16 && rounds_bf16_linear_inputs(backend()))
          for (float& v : x_ref) v = bf16_to_f32(f32_to_bf16(v));
        expect_close(download(yd), ref::linear(x_ref, w, with_bias ? &b : nullptr, s.m, s.n, s.k),
                     tolerance_for(act(), 1e-5),
                     "linear m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) + " k=" +
                         std::to_string(s.k) + " w=" + std::string(dtype_name(wt)) + (with_bias ? " +bias" : ""));
      }
}

TEST_P(BackendTest, LinearRejectsMismatchedShapes) {
  Buffer x(backend(), act(), {3, 8}), w(backend(), act(), {5, 9}), y(backend(), act(), {3, 5});
  EXPECT_THROW(backend().linear(y, x, w, nullptr), Error);
}

const int64_t kRowCounts[] = {1, 7, 33, 130};
const int64_t kColCounts[] = {16, 72, 1000, 2048};

TEST_P(BackendTest, RmsNormMatchesReference) {
  for (DType wt : {DType::F32, DType::BF16})
    for (int64_t rows : kRowCounts)
      for (int64_t cols : kColCounts) {
        std::vector<float> x, w;
        Buffer xd = random(act(), {rows, cols}, x, 3.0f);
        Buffer wd = random(wt, {cols}, w);
        Buffer yd(backend(), act(), {rows, cols});
        backend().rms_norm(yd, xd, wd, 1e-6f);
        expect_close(download(yd), ref::rms_norm(x, w, rows, cols, 1e-6), tolerance_for(act()),
                     "rms_norm " + std::to_string(rows) + "x" + std::to_string(cols) + " w=" + std::string(dtype_name(wt)));
      }
}

TEST_P(BackendTest, RmsNormInPlace) {
  std::vector<float> x, w;
  Buffer xd = random(act(), {7, 72}, x);
  Buffer wd = random(DType::F32, {72}, w);
  backend().rms_norm(xd, xd, wd, 1e-6f);
  expect_close(download(xd), ref::rms_norm(x, w, 7, 72, 1e-6), tolerance_for(act()), "rms_norm in place");
}

TEST_P(BackendTest, LayerNormMatchesReference) {
  for (DType wt : {DType::F32, DType::BF16})
    for (int64_t rows : kRowCounts)
      for (int64_t cols : kColCounts) {
        std::vector<float> x, w, b;
        // An offset mean checks the variance is not computed as E[x²] − E[x]² in low precision.
        Buffer xd = random(act(), {rows, cols}, x);
        for (auto& v : x) v = round_to(act(), v + 4.0f);
        xd = upload(act(), {rows, cols}, x);
        Buffer wd = random(wt, {cols}, w);
        Buffer bd = random(wt, {cols}, b);
        Buffer yd(backend(), act(), {rows, cols});
        backend().layer_norm(yd, xd, wd, bd, 1e-6f);
        expect_close(download(yd), ref::layer_norm(x, w, b, rows, cols, 1e-6), tolerance_for(act()),
                     "layer_norm " + std::to_string(rows) + "x" + std::to_string(cols));
      }
}

TEST_P(BackendTest, AddMatchesReferenceAndAliases) {
  for (int64_t n : {1, 7, 33 * 72, 130 * 1000}) {
    std::vector<float> a, b;
    Buffer ad = random(act(), {n}, a), bd = random(act(), {n}, b);
    Buffer yd(backend(), act(), {n});
    backend().add(yd, ad, bd);
    ref::DVec want(a.size());
    for (size_t i = 0; i < a.size(); ++i) want[i] = double(a[i]) + b[i];
    expect_close(download(yd), want, tolerance_for(act()), "add n=" + std::to_string(n));
    backend().add(ad, ad, bd);  // y aliasing a: the residual-add pattern
    expect_close(download(ad), want, tolerance_for(act()), "add in place n=" + std::to_string(n));
  }
}

TEST_P(BackendTest, GeluMatchesReference) {
  for (int64_t n : {1, 33, 130 * 72}) {
    std::vector<float> x;
    Buffer xd = random(act(), {n}, x, 3.0f);
    Buffer yd(backend(), act(), {n});
    backend().gelu_tanh(yd, xd);
    expect_close(download(yd), ref::gelu_tanh(x), tolerance_for(act()), "gelu_tanh n=" + std::to_string(n));
    backend().gelu_erf(yd, xd);
    expect_close(download(yd), ref::gelu_erf(x), tolerance_for(act()), "gelu_erf n=" + std::to_string(n));
  }
}

TEST_P(BackendTest, SiluMulMatchesReference) {
  for (int64_t rows : kRowCounts)
    for (int64_t f : {int64_t(1), int64_t(72), int64_t(1000)}) {
      std::vector<float> gu;
      Buffer gud = random(act(), {rows, 2 * f}, gu, 2.0f);
      Buffer yd(backend(), act(), {rows, f});
      backend().silu_mul(yd, gud);
      expect_close(download(yd), ref::silu_mul(gu, rows, f), tolerance_for(act()),
                   "silu_mul " + std::to_string(rows) + "x" + std::to_string(f));
    }
}

TEST_P(BackendTest, RopeMatchesReference) {
  for (int64_t n : {1, 7, 130})
    for (int64_t heads : {1, 4})
      for (int64_t hd : {16, 64, 72, 128}) {
        std::vector<float> x, cos(static_cast<size_t>(n * hd / 2)), sin(static_cast<size_t>(n * hd / 2));
        Buffer xd = random(act(), {n, heads, hd}, x);
        for (int64_t t = 0; t < n; ++t)
          for (int64_t k = 0; k < hd / 2; ++k) {
            const double angle = double(t * 3 + 1) * std::pow(10000.0, -2.0 * k / hd);
            cos[t * hd / 2 + k] = float(std::cos(angle));
            sin[t * hd / 2 + k] = float(std::sin(angle));
          }
        Buffer cd = upload(DType::F32, {n, hd / 2}, cos), sd = upload(DType::F32, {n, hd / 2}, sin);
        backend().rope(xd, cd, sd);
        expect_close(download(xd), ref::rope(x, cos, sin, n, heads, hd), tolerance_for(act()),
                     "rope n=" + std::to_string(n) + " heads=" + std::to_string(heads) + " hd=" + std::to_string(hd));
      }
}

TEST_P(BackendTest, FillZeroClearsEveryElement) {
  std::vector<float> x;
  Buffer xd = random(act(), {33, 77}, x);
  backend().fill_zero(xd);
  for (float v : download(xd)) ASSERT_EQ(v, 0.0f);
}

TEST_P(BackendTest, ToHostConvertsBothFloatTypes) {
  for (DType dt : {DType::F32, DType::BF16}) {
    std::vector<float> x;
    Buffer xd = random(dt, {7, 33}, x);
    const auto got = download(xd);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(got[i], x[i]) << dtype_name(dt) << " element " << i;
  }
}

}  // namespace
}  // namespace loupe::test
