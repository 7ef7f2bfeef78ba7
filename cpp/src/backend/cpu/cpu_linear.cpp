// y = x · wᵀ (+ bias). fp32 weights go straight to OpenBLAS (the fp32 golden path). bf16
// weights: activations enter exact (fp32) or rounded to bf16 (PyTorch bf16), see
// cpu_gemm_bf16.h. With AVX512_BF16 the vdpbf16ps kernel (cpu_gemm_bf16.cpp) serves rounded
// activations at every M and exact ones where the weight stream is the limit (M <= 4; its 3
// passes would cost more than sgemm above that). Otherwise small M streams the bf16 rows
// once with an fp32 dot per output; larger M converts blocks of weight rows to fp32 and runs
// sgemm on each block, so the fp32 copy stays cache-sized.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/int8_weights.h"
#include "backend/cpu/cpu_gemm_bf16.h"
#include "backend/cpu/cpu_gemm_int8.h"
#include "backend/cpu/cpu_kernels.h"

namespace loupe {
namespace {

// Built for AVX-512, AVX2 and baseline x86-64, picked at load time (ifunc): the build does
// not assume -march=native, and these two loops are the whole cost of bf16 decode.
// Not under ThreadSanitizer: the ifunc resolver runs during relocation, before the TSan
// runtime is initialised, and its instrumented code crashes there.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define LOUPE_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LOUPE_MULTIVERSION
#endif

LOUPE_MULTIVERSION float dot_bf16(const float* __restrict x, const uint16_t* __restrict w, int64_t k) {
  float acc[32] = {};
  int64_t i = 0;
  for (; i + 32 <= k; i += 32)
    for (int j = 0; j < 32; ++j) {
      const uint32_t bits = uint32_t(w[i + j]) << 16;
      float wf;
      __builtin_memcpy(&wf, &bits, sizeof wf);
      acc[j] += x[i + j] * wf;
    }
  float s = 0.f;
  for (; i < k; ++i) s += x[i] * bf16_to_f32(w[i]);
  for (float a : acc) s += a;
  return s;
}

LOUPE_MULTIVERSION void bf16_to_f32_rows(float* __restrict dst, const uint16_t* __restrict src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = uint32_t(src[i]) << 16;
    __builtin_memcpy(&dst[i], &bits, sizeof(float));
  }
}

void add_bias(float* y, int64_t m, int64_t n, const Tensor& bias, cpu::ThreadPool& pool) {
  std::vector<float> b(n);
  cpu::load_f32(b.data(), bias, 0, n);
  pool.parallel_for(m, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r)
      for (int64_t c = 0; c < n; ++c) y[r * n + c] += b[c];
  }, m * n >= cpu::kParallelWork);
}

}  // namespace

void CpuBackend::linear(Tensor y, Tensor x, Tensor w, const Tensor* bias) {
  const int64_t m = x.rows(), k = x.cols(), n = w.rows();
  LOUPE_CHECK(x.dtype == DType::F32 && y.dtype == DType::F32, Internal, "cpu linear: activations must be f32");
  LOUPE_CHECK(w.cols() == k && y.rows() == m && y.cols() == n, Internal, "cpu linear: shape mismatch y ",
              y.describe(), " x ", x.describe(), " w ", w.describe());
  LOUPE_CHECK(!bias || bias->numel() == n, Internal, "cpu linear: bias ", bias->describe(), " for ", n, " outputs");
  float* yp = y.ptr<float>();
  const float* xp = x.ptr<float>();
  if (m == 0) return;
  if (w.dtype == DType::F32) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(n), int(k), 1.f, xp, int(k), w.ptr<float>(),
                int(k), 0.f, yp, int(n));
  } else if (w.dtype == DType::BF16) {
    const uint16_t* wp = w.ptr<uint16_t>();
    const bool rounded = bf16_activations_ == cpu::Bf16Activations::Rounded;
    if (use_avx512_bf16_ && (rounded || m <= 4)) {
      cpu::gemm_bf16(yp, n, xp, wp, m, n, k, bf16_activations_, bf16_scratch_, *pool_);
      if (bias) add_bias(yp, m, n, *bias, *pool_);
      return;
    }
    if (rounded) {  // the same bf16 activations as the kernel, held in fp32
      f32_scratch_.resize(size_t(m * k));
      for (int64_t i = 0; i < m * k; ++i) f32_scratch_[i] = bf16_to_f32(f32_to_bf16(xp[i]));
      xp = f32_scratch_.data();
    }
    if (m <= 4) {
      pool_->parallel_for(n, [&](int64_t cb, int64_t ce) {
        for (int64_t c = cb; c < ce; ++c)
          for (int64_t r = 0; r < m; ++r) yp[r * n + c] = dot_bf16(xp + r * k, wp + c * k, k);
      }, m * n * k >= cpu::kParallelWork);
    } else {
      const int64_t block = std::max<int64_t>(16, std::min<int64_t>(n, (1 << 20) / std::max<int64_t>(k, 1)));
      std::vector<float> tile(size_t(block * k));
      for (int64_t c0 = 0; c0 < n; c0 += block) {
        const int64_t nb = std::min(block, n - c0);
        pool_->parallel_for(nb * k, [&](int64_t b, int64_t e) {
          bf16_to_f32_rows(tile.data() + b, wp + c0 * k + b, e - b);
        }, nb * k >= cpu::kParallelWork);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(nb), int(k), 1.f, xp, int(k), tile.data(),
                    int(k), 0.f, yp + c0, int(n));
      }
    }
  } else if (w.dtype == DType::I8) {
    linear_int8(yp, xp, w, m, n, k);
  } else {
    LOUPE_FAIL(Internal, "cpu linear: unsupported weight dtype ", w.describe());
  }
  if (bias) add_bias(yp, m, n, *bias, *pool_);
}

// Int8 weights (backend/int8_weights.h): the AVX512_VNNI kernel at every M in both modes;
// otherwise blocks of rows are dequantised to fp32 (q · scale) and go through sgemm.
void CpuBackend::linear_int8(float* yp, const float* xp, const Tensor& w, int64_t m, int64_t n, int64_t k) {
  const int8_t* q = w.ptr<int8_t>();
  const float* scales = int8_scales(w.data, n, k);
  if (use_avx512_vnni_) {
    cpu::gemm_int8(yp, n, xp, q, scales, m, n, k, bf16_activations_, int16_scratch_, *pool_);
    return;
  }
  // The same quantised activations as the kernel, held in fp32: one result on every CPU.
  cpu::quantize_activations_int16(int16_scratch_, xp, m, k, bf16_activations_ == cpu::Bf16Activations::Exact);
  f32_scratch_.resize(size_t(m * k));
  cpu::dequantize_activations_int16(f32_scratch_.data(), int16_scratch_, m, k);
  xp = f32_scratch_.data();
  const int64_t block = std::max<int64_t>(16, std::min<int64_t>(n, (1 << 20) / std::max<int64_t>(k, 1)));
  std::vector<float> tile(size_t(block * k));
  for (int64_t c0 = 0; c0 < n; c0 += block) {
    const int64_t nb = std::min(block, n - c0);
    pool_->parallel_for(nb, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r)
        for (int64_t i = 0; i < k; ++i) tile[r * k + i] = float(q[(c0 + r) * k + i]) * scales[c0 + r];
    }, nb * k >= cpu::kParallelWork);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(nb), int(k), 1.f, xp, int(k), tile.data(),
                int(k), 0.f, yp + c0, int(n));
  }
}

}  // namespace loupe
