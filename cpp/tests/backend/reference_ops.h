#pragma once
// Plain scalar references for the backend ops, in double precision, written from the
// HF definitions and independent of any backend's code.
#include <cstdint>
#include <vector>

namespace loupe::test::ref {

using Vec = std::vector<float>;
using DVec = std::vector<double>;

DVec linear(const Vec& x, const Vec& w, const Vec* bias, int64_t m, int64_t n, int64_t k);
DVec rms_norm(const Vec& x, const Vec& w, int64_t rows, int64_t cols, double eps);
DVec layer_norm(const Vec& x, const Vec& w, const Vec& b, int64_t rows, int64_t cols, double eps);
DVec gelu_tanh(const Vec& x);
DVec gelu_erf(const Vec& x);
DVec silu_mul(const Vec& gate_up, int64_t rows, int64_t f);
DVec rope(const Vec& x, const Vec& cos, const Vec& sin, int64_t n, int64_t heads, int64_t hd);

// One query row's attention: q [hd]; keys/values given as row indices into k/v
// ([rows, kv_heads, hd]); kv head kvh.
void attend_row(const Vec& q, int64_t q_off, const Vec& k, const Vec& v, const std::vector<int64_t>& key_rows,
                int64_t kv_heads, int64_t kvh, int64_t hd, double scale, double* out);

}  // namespace loupe::test::ref
