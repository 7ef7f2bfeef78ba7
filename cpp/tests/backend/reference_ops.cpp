#include "reference_ops.h"

#include <algorithm>
#include <cmath>

namespace loupe::test::ref {

DVec linear(const Vec& x, const Vec& w, const Vec* bias, int64_t m, int64_t n, int64_t k) {
  DVec y(size_t(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias ? (*bias)[j] : 0.0;
      for (int64_t t = 0; t < k; ++t) acc += double(x[i * k + t]) * w[j * k + t];
      y[i * n + j] = acc;
    }
  return y;
}

DVec rms_norm(const Vec& x, const Vec& w, int64_t rows, int64_t cols, double eps) {
  DVec y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t c = 0; c < cols; ++c) ss += double(x[r * cols + c]) * x[r * cols + c];
    const double inv = 1.0 / std::sqrt(ss / cols + eps);
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = x[r * cols + c] * inv * w[c];
  }
  return y;
}

DVec layer_norm(const Vec& x, const Vec& w, const Vec& b, int64_t rows, int64_t cols, double eps) {
  DVec y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < cols; ++c) mean += x[r * cols + c];
    mean /= cols;
    for (int64_t c = 0; c < cols; ++c) var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
    const double inv = 1.0 / std::sqrt(var / cols + eps);
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = (x[r * cols + c] - mean) * inv * w[c] + b[c];
  }
  return y;
}

DVec gelu_tanh(const Vec& x) {
  DVec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    y[i] = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
  }
  return y;
}

DVec gelu_erf(const Vec& x) {
  DVec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = 0.5 * x[i] * (1.0 + std::erf(x[i] / std::sqrt(2.0)));
  return y;
}

DVec silu_mul(const Vec& gu, int64_t rows, int64_t f) {
  DVec y(size_t(rows * f));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < f; ++c) {
      const double g = gu[r * 2 * f + c], u = gu[r * 2 * f + f + c];
      y[r * f + c] = g / (1.0 + std::exp(-g)) * u;
    }
  return y;
}

DVec rope(const Vec& x, const Vec& cos, const Vec& sin, int64_t n, int64_t heads, int64_t hd) {
  DVec y(x.size());
  const int64_t half = hd / 2;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t base = (t * heads + h) * hd;
      for (int64_t k = 0; k < half; ++k) {
        const double c = cos[t * half + k], s = sin[t * half + k];
        const double x1 = x[base + k], x2 = x[base + k + half];
        y[base + k] = x1 * c - x2 * s;
        y[base + k + half] = x2 * c + x1 * s;
      }
    }
  return y;
}

void attend_row(const Vec& q, int64_t q_off, const Vec& k, const Vec& v, const std::vector<int64_t>& key_rows,
                int64_t kv_heads, int64_t kvh, int64_t hd, double scale, double* out) {
  std::vector<double> scores(key_rows.size());
  double mx = -INFINITY;
  for (size_t j = 0; j < key_rows.size(); ++j) {
    const int64_t off = (key_rows[j] * kv_heads + kvh) * hd;
    double dot = 0;
    for (int64_t d = 0; d < hd; ++d) dot += double(q[q_off + d]) * k[off + d];
    scores[j] = dot * scale;
    mx = std::max(mx, scores[j]);
  }
  double sum = 0;
  for (auto& s : scores) sum += (s = std::exp(s - mx));
  for (int64_t d = 0; d < hd; ++d) out[d] = 0;
  for (size_t j = 0; j < key_rows.size(); ++j) {
    const int64_t off = (key_rows[j] * kv_heads + kvh) * hd;
    for (int64_t d = 0; d < hd; ++d) out[d] += scores[j] / sum * v[off + d];
  }
}

}  // namespace loupe::test::ref
