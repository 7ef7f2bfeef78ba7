// Conformance of the fused text-attention head op (qkv_norm_rope): split of the fused
// projection, QK RMSNorm and RoPE in one op, against the host reference and against the
// same backend's unfused ops (gather_rows, rms_norm, rope) it replaces in the model.
#include <cmath>
#include <tuple>

#include "conformance.h"
#include "reference_ops.h"

namespace loupe::test {
namespace {

struct HeadShape {
  int64_t n, heads, kv_heads, hd;
};
// Decode (n = 1) and prefill rows; GQA groups 1, 2 and 8; head sizes of the tiny test
// checkpoints (16, 32) and of the real models (128), plus an odd even size (72).
const HeadShape kShapes[] = {{1, 2, 1, 16}, {7, 4, 2, 32}, {33, 16, 8, 128}, {5, 8, 1, 72}, {130, 16, 8, 128}};

// Angles of interleaved-M-RoPE-like tables: each frequency slot gets its own position.
void rope_tables(int64_t n, int64_t hd, std::vector<float>& cos, std::vector<float>& sin) {
  cos.resize(size_t(n * hd / 2));
  sin.resize(cos.size());
  for (int64_t t = 0; t < n; ++t)
    for (int64_t k = 0; k < hd / 2; ++k) {
      const double position = double(t * 5 + 2 + (k % 3) * 7);
      const double angle = position * std::pow(1e6, -2.0 * double(k) / double(hd));
      cos[size_t(t * hd / 2 + k)] = float(std::cos(angle));
      sin[size_t(t * hd / 2 + k)] = float(std::sin(angle));
    }
}

TEST_P(BackendTest, QkvNormRopeMatchesReferenceAndUnfusedOps) {
  const float eps = 1e-6f;
  for (const HeadShape& s : kShapes) {
    const int64_t width = (s.heads + 2 * s.kv_heads) * s.hd;
    std::vector<float> qkv, qw, kw, cos, sin;
    Buffer qkv_d = random(act(), {s.n, width}, qkv, 2.0f);
    Buffer qw_d = random(DType::BF16, {s.hd}, qw), kw_d = random(DType::BF16, {s.hd}, kw);
    rope_tables(s.n, s.hd, cos, sin);
    Buffer cos_d = upload(DType::F32, {s.n, s.hd / 2}, cos), sin_d = upload(DType::F32, {s.n, s.hd / 2}, sin);

    Buffer q(backend(), act(), {s.n, s.heads, s.hd}), k(backend(), act(), {s.n, s.kv_heads, s.hd}),
        v(backend(), act(), {s.n, s.kv_heads, s.hd});
    backend().qkv_norm_rope(q, k, v, qkv_d, qw_d, kw_d, eps, cos_d, sin_d);
    Buffer uq(backend(), act(), {s.n, s.heads, s.hd}), uk(backend(), act(), {s.n, s.kv_heads, s.hd}),
        uv(backend(), act(), {s.n, s.kv_heads, s.hd});
    backend().Backend::qkv_norm_rope(uq, uk, uv, qkv_d, qw_d, kw_d, eps, cos_d, sin_d);

    // Host reference: split, norm (with the activation rounding HF applies), rotate.
    auto split = [&](int64_t first, int64_t count) {
      std::vector<float> out;
      for (int64_t t = 0; t < s.n; ++t)
        for (int64_t h = first; h < first + count; ++h)
          for (int64_t d = 0; d < s.hd; ++d) out.push_back(qkv[size_t(t * width + h * s.hd + d)]);
      return out;
    };
    auto norm_rope = [&](const std::vector<float>& x, const std::vector<float>& w, int64_t heads) {
      ref::DVec normed = ref::rms_norm(x, w, s.n * heads, s.hd, eps);
      std::vector<float> rounded(normed.size());
      for (size_t i = 0; i < normed.size(); ++i) rounded[i] = round_to(act(), float(normed[i]));
      return ref::rope(rounded, cos, sin, s.n, heads, s.hd);
    };
    const std::string what = "qkv_norm_rope n=" + std::to_string(s.n) + " H=" + std::to_string(s.heads) +
                             " K=" + std::to_string(s.kv_heads) + " hd=" + std::to_string(s.hd);
    expect_close(download(q), norm_rope(split(0, s.heads), qw, s.heads), tolerance_for(act()), what + " q");
    expect_close(download(k), norm_rope(split(s.heads, s.kv_heads), kw, s.kv_heads), tolerance_for(act()),
                 what + " k");
    const std::vector<float> v_want = split(s.heads + s.kv_heads, s.kv_heads);
    EXPECT_EQ(download(v), v_want) << what << " v is a plain copy";

    // Against the unfused ops on this backend: the same roundings, so at most one step of
    // the activation dtype apart (exactly equal on a backend that composes them).
    for (auto [fused, unfused, name] : {std::tuple{&q, &uq, "q"}, std::tuple{&k, &uk, "k"}}) {
      const std::vector<float> a = download(*fused), b = download(*unfused);
      std::vector<double> want(b.begin(), b.end());
      expect_close(a, want, tolerance_for(act(), 1e-6, 8e-3), what + " " + name + " fused vs unfused");
    }
  }
}

TEST_P(BackendTest, QkvNormRopeRejectsMismatchedShapes) {
  Buffer qkv(backend(), act(), {3, 4 * 16}), w(backend(), DType::BF16, {16});
  Buffer cos(backend(), DType::F32, {3, 8}), sin(backend(), DType::F32, {3, 8});
  Buffer q(backend(), act(), {3, 2, 16}), k(backend(), act(), {3, 1, 16}), v(backend(), act(), {3, 1, 16});
  EXPECT_NO_THROW(backend().qkv_norm_rope(q, k, v, qkv, w, w, 1e-6f, cos, sin));
  Buffer bad_q(backend(), act(), {3, 3, 16});  // 3 + 2·1 heads do not fill qkv's 4
  EXPECT_THROW(backend().qkv_norm_rope(bad_q, k, v, qkv, w, w, 1e-6f, cos, sin), Error);
  Buffer short_cos(backend(), DType::F32, {2, 8});
  EXPECT_THROW(backend().qkv_norm_rope(q, k, v, qkv, w, w, 1e-6f, short_cos, sin), Error);
}

}  // namespace
}  // namespace loupe::test
