// Norms, activations, RoPE, gathers: row-parallel fp32 loops with fp64 accumulation for
// the norm statistics (HF accumulates in fp32; fp64 keeps us at least as accurate).
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_kernels.h"

namespace loupe {
namespace {

void check_f32(const Tensor& t, const char* op) {
  LOUPE_CHECK(t.dtype == DType::F32, Internal, "cpu ", op, ": expected f32 activations, got ", t.describe());
}

// y = op(x) elementwise: `range(y, x, count)` maps each thread's contiguous slice.
template <class Range>
void unary_ranges(Tensor y, Tensor x, cpu::ThreadPool& pool, const char* op, Range range) {
  check_f32(y, op);
  check_f32(x, op);
  LOUPE_CHECK(y.numel() == x.numel(), Internal, "cpu ", op, ": size mismatch");
  float* yp = y.ptr<float>();
  const float* xp = x.ptr<float>();
  const int64_t n = x.numel();
  pool.parallel_for(n, [&](int64_t b, int64_t e) { range(yp + b, xp + b, e - b); }, n * 8 >= cpu::kParallelWork);
}

template <class F>
void unary(Tensor y, Tensor x, cpu::ThreadPool& pool, const char* op, F f) {
  unary_ranges(y, x, pool, op, [&](float* yp, const float* xp, int64_t n) {
    for (int64_t i = 0; i < n; ++i) yp[i] = f(xp[i]);
  });
}

}  // namespace

void CpuBackend::rms_norm(Tensor y, Tensor x, Tensor weight, float eps) {
  check_f32(x, "rms_norm");
  check_f32(y, "rms_norm");
  const int64_t rows = x.rows(), d = x.cols();
  LOUPE_CHECK(weight.numel() == d && y.numel() == x.numel(), Internal, "cpu rms_norm: shape mismatch");
  std::vector<float> w(d);
  cpu::load_f32(w.data(), weight, 0, d);
  const float* xp = x.ptr<float>();
  float* yp = y.ptr<float>();
  pool_->parallel_for(rows, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const float* in = xp + r * d;
      float* out = yp + r * d;
      double ss = 0;
      for (int64_t i = 0; i < d; ++i) ss += double(in[i]) * in[i];
      const float inv = float(1.0 / std::sqrt(ss / double(d) + double(eps)));
      for (int64_t i = 0; i < d; ++i) out[i] = w[i] * (in[i] * inv);
    }
  }, rows * d * 4 >= cpu::kParallelWork);
}

void CpuBackend::layer_norm(Tensor y, Tensor x, Tensor weight, Tensor bias, float eps) {
  check_f32(x, "layer_norm");
  check_f32(y, "layer_norm");
  const int64_t rows = x.rows(), d = x.cols();
  LOUPE_CHECK(weight.numel() == d && bias.numel() == d && y.numel() == x.numel(), Internal,
              "cpu layer_norm: shape mismatch");
  std::vector<float> w(d), b(d);
  cpu::load_f32(w.data(), weight, 0, d);
  cpu::load_f32(b.data(), bias, 0, d);
  const float* xp = x.ptr<float>();
  float* yp = y.ptr<float>();
  pool_->parallel_for(rows, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      const float* in = xp + r * d;
      float* out = yp + r * d;
      double sum = 0;
      for (int64_t i = 0; i < d; ++i) sum += in[i];
      const double mean = sum / double(d);
      double var = 0;  // two-pass variance: no cancellation for rows with a large mean
      for (int64_t i = 0; i < d; ++i) var += (in[i] - mean) * (in[i] - mean);
      const float inv = float(1.0 / std::sqrt(var / double(d) + double(eps)));
      const float m = float(mean);
      for (int64_t i = 0; i < d; ++i) out[i] = (in[i] - m) * inv * w[i] + b[i];
    }
  }, rows * d * 4 >= cpu::kParallelWork);
}

void CpuBackend::add(Tensor y, Tensor a, Tensor b) {
  check_f32(y, "add");
  check_f32(a, "add");
  check_f32(b, "add");
  LOUPE_CHECK(a.numel() == b.numel() && y.numel() == a.numel(), Internal, "cpu add: size mismatch");
  float* yp = y.ptr<float>();
  const float *ap = a.ptr<float>(), *bp = b.ptr<float>();
  const int64_t n = y.numel();
  pool_->parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) yp[i] = ap[i] + bp[i];
  }, n >= cpu::kParallelWork);
}

void CpuBackend::gelu_tanh(Tensor y, Tensor x) {
  if (cpu::has_avx512f()) {  // the vision MLP's activation: libm's scalar tanhf was 6 % of the tower
    unary_ranges(y, x, *pool_, "gelu_tanh", cpu::gelu_tanh_avx512);
    return;
  }
  unary(y, x, *pool_, "gelu_tanh", [](float v) {
    const float c = 0.7978845608028654f;  // sqrt(2/pi)
    return 0.5f * v * (1.f + std::tanh(c * (v + 0.044715f * v * v * v)));
  });
}

void CpuBackend::gelu_erf(Tensor y, Tensor x) {
  unary(y, x, *pool_, "gelu_erf", [](float v) { return 0.5f * v * (1.f + std::erf(v * 0.7071067811865476f)); });
}

void CpuBackend::silu_mul(Tensor y, Tensor gate_up) {
  check_f32(y, "silu_mul");
  check_f32(gate_up, "silu_mul");
  const int64_t rows = gate_up.rows(), f = gate_up.cols() / 2;
  LOUPE_CHECK(gate_up.cols() == 2 * f && y.rows() == rows && y.cols() == f, Internal, "cpu silu_mul: shape mismatch");
  const float* g = gate_up.ptr<float>();
  float* yp = y.ptr<float>();
  pool_->parallel_for(rows, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r)
      for (int64_t i = 0; i < f; ++i) {
        const float gv = g[r * 2 * f + i];
        yp[r * f + i] = gv / (1.f + std::exp(-gv)) * g[r * 2 * f + f + i];
      }
  }, rows * f * 8 >= cpu::kParallelWork);
}

void CpuBackend::rope(Tensor x, Tensor cos, Tensor sin) {
  check_f32(x, "rope");
  LOUPE_CHECK(x.ndim == 3, Internal, "cpu rope: x must be [n, heads, hd], got ", x.describe());
  const int64_t n = x.dim(0), heads = x.dim(1), hd = x.dim(2), half = hd / 2;
  LOUPE_CHECK(cos.dtype == DType::F32 && sin.dtype == DType::F32 && cos.numel() == n * half &&
                  sin.numel() == n * half,
              Internal, "cpu rope: cos/sin must be f32 [n, hd/2]");
  float* xp = x.ptr<float>();
  const float *cp = cos.ptr<float>(), *sp = sin.ptr<float>();
  pool_->parallel_for(n, [&](int64_t tb, int64_t te) {
    for (int64_t t = tb; t < te; ++t)
      for (int64_t h = 0; h < heads; ++h) {
        float* v = xp + (t * heads + h) * hd;
        const float *c = cp + t * half, *s = sp + t * half;
        for (int64_t k = 0; k < half; ++k) {
          const float a = v[k], b = v[k + half];
          v[k] = a * c[k] - b * s[k];
          v[k + half] = b * c[k] + a * s[k];
        }
      }
  }, n * heads * hd * 2 >= cpu::kParallelWork);
}

void CpuBackend::embedding(Tensor y, Tensor table, Tensor ids) {
  check_f32(y, "embedding");
  const int64_t n = ids.numel(), d = table.cols();
  LOUPE_CHECK(ids.dtype == DType::I32 && y.rows() == n && y.cols() == d, Internal, "cpu embedding: shape mismatch");
  const int32_t* id = ids.ptr<int32_t>();
  float* yp = y.ptr<float>();
  pool_->parallel_for(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) cpu::load_f32(yp + i * d, table, int64_t(id[i]) * d, d);
  }, n * d >= cpu::kParallelWork);
}

void CpuBackend::scatter_rows(Tensor dst, Tensor rows, Tensor src, bool accumulate) {
  check_f32(dst, "scatter_rows");
  check_f32(src, "scatter_rows");
  const int64_t n = rows.numel(), d = dst.cols();
  LOUPE_CHECK(rows.dtype == DType::I32 && src.rows() == n && src.cols() == d, Internal,
              "cpu scatter_rows: shape mismatch");
  const int32_t* r = rows.ptr<int32_t>();
  float* dp = dst.ptr<float>();
  const float* sp = src.ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    float* out = dp + int64_t(r[i]) * d;
    const float* in = sp + i * d;
    if (accumulate) {
      for (int64_t j = 0; j < d; ++j) out[j] += in[j];
    } else {
      std::memcpy(out, in, size_t(d) * sizeof(float));
    }
  }
}

void CpuBackend::gather_rows(Tensor dst, Tensor src, Tensor rows) {
  check_f32(dst, "gather_rows");
  check_f32(src, "gather_rows");
  const int64_t n = rows.numel(), d = src.cols();
  LOUPE_CHECK(rows.dtype == DType::I32 && dst.rows() == n && dst.cols() == d, Internal,
              "cpu gather_rows: shape mismatch");
  const int32_t* r = rows.ptr<int32_t>();
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(dst.ptr<float>() + i * d, src.ptr<float>() + int64_t(r[i]) * d, size_t(d) * sizeof(float));
}

}  // namespace loupe
