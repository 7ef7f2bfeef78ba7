#include "backend/cpu/cpu_flash_attention.h"

#include "backend/cpu/cpu_vector_math.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#define LOUPE_AVX512_TARGET __attribute__((target("avx512f")))

namespace loupe::cpu {
namespace {

constexpr int kQB = 8;       // query rows sharing every key/value load
constexpr int kKB = 16;      // keys per block: one vector of scores per query row
constexpr int kMaxD = 256;   // head dims up to this many floats

// Up to kQB query rows (rows past nq repeat the last one and are not written).
LOUPE_AVX512_TARGET void attend_block(float* out, int64_t out_stride, const float* q, int64_t q_stride, int nq,
                                      const int64_t* visible, const HeadKeys& keys, float scale) {
  const int64_t d = keys.d, chunks = d / 16;
  alignas(64) float qs[kQB][kMaxD];
  alignas(64) float o[kQB][kMaxD];
  alignas(64) float p[kQB][kKB];
  float row_max[kQB], denom[kQB];
  int64_t seen[kQB];
  int64_t longest = 0;
  for (int r = 0; r < kQB; ++r) {
    const int src = std::min(r, nq - 1);
    for (int64_t i = 0; i < d; ++i) qs[r][i] = q[src * q_stride + i] * scale;
    for (int64_t i = 0; i < d; ++i) o[r][i] = 0.f;
    row_max[r] = -std::numeric_limits<float>::infinity();
    denom[r] = 0.f;
    seen[r] = visible ? visible[src] : keys.count;
    longest = std::max(longest, seen[r]);
  }
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int64_t b = 0; b * kKB < longest; ++b) {
    const float* kt = keys.kt.data() + b * d * kKB;
    __m512 s[kQB];
    #pragma GCC unroll 8
    for (int r = 0; r < kQB; ++r) s[r] = _mm512_setzero_ps();
    for (int64_t i = 0; i < d; ++i) {
      const __m512 kv = _mm512_loadu_ps(kt + i * kKB);
      #pragma GCC unroll 8
      for (int r = 0; r < kQB; ++r) s[r] = _mm512_fmadd_ps(_mm512_set1_ps(qs[r][i]), kv, s[r]);
    }
    #pragma GCC unroll 8
    for (int r = 0; r < kQB; ++r) {
      const int64_t valid = std::min<int64_t>(kKB, seen[r] - b * kKB);
      const __mmask16 mask = _mm512_cmplt_epi32_mask(lane, _mm512_set1_epi32(int(std::max<int64_t>(valid, 0))));
      if (!mask) {
        _mm512_store_ps(p[r], _mm512_setzero_ps());
        continue;
      }
      const float block_max = _mm512_mask_reduce_max_ps(mask, s[r]);
      const float new_max = std::max(row_max[r], block_max);
      const float correction = std::exp(row_max[r] - new_max);  // 0 on a row's first block
      const __m512 e = _mm512_maskz_mov_ps(mask, exp_nonpositive(_mm512_sub_ps(s[r], _mm512_set1_ps(new_max))));
      denom[r] = denom[r] * correction + _mm512_reduce_add_ps(e);
      row_max[r] = new_max;
      _mm512_store_ps(p[r], e);
      if (correction != 1.f) {
        const __m512 c = _mm512_set1_ps(correction);
        for (int64_t ch = 0; ch < chunks; ++ch)
          _mm512_store_ps(o[r] + ch * 16, _mm512_mul_ps(_mm512_load_ps(o[r] + ch * 16), c));
      }
    }
    const int64_t n = std::min<int64_t>(kKB, keys.count - b * kKB);
    const float* v = keys.v.data() + b * kKB * d;
    for (int64_t ch = 0; ch < chunks; ++ch) {
      __m512 acc[kQB];
      #pragma GCC unroll 8
      for (int r = 0; r < kQB; ++r) acc[r] = _mm512_load_ps(o[r] + ch * 16);
      for (int64_t j = 0; j < n; ++j) {
        const __m512 vv = _mm512_loadu_ps(v + j * d + ch * 16);
        #pragma GCC unroll 8
        for (int r = 0; r < kQB; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(p[r][j]), vv, acc[r]);
      }
      #pragma GCC unroll 8
      for (int r = 0; r < kQB; ++r) _mm512_store_ps(o[r] + ch * 16, acc[r]);
    }
  }
  for (int r = 0; r < nq; ++r) {
    const float inv = denom[r] > 0 ? 1.f / denom[r] : 0.f;
    for (int64_t i = 0; i < d; ++i) out[r * out_stride + i] = o[r][i] * inv;
  }
}

}  // namespace

bool has_avx512f() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
#else
  return false;
#endif
}

void attend_queries(float* out, int64_t out_stride, const float* q, int64_t q_stride, int64_t nq,
                    const int64_t* visible, const HeadKeys& keys, float scale) {
  for (int64_t r0 = 0; r0 < nq; r0 += kQB)
    attend_block(out + r0 * out_stride, out_stride, q + r0 * q_stride, q_stride, int(std::min<int64_t>(kQB, nq - r0)),
                 visible ? visible + r0 : nullptr, keys, scale);
}

}  // namespace loupe::cpu
