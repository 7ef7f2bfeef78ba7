#include "backend/cpu/cpu_decode_attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/cpu_vector_math.h"

// GCC 12's reduction and masked intrinsics read an "undefined" vector it reports as uninitialised.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define LOUPE_AVX512_TARGET __attribute__((target("avx512f")))

namespace loupe::cpu {
namespace {

constexpr int kBlock = 64;     // keys per softmax block: four vectors of scores per head
constexpr int kMaxChunks = 16; // d / 16 up to 256
constexpr int kAhead = 8;      // keys whose rows are prefetched ahead of the dot products

template <int NH>
LOUPE_AVX512_TARGET void attend(float* out, const float* q, int64_t count, int64_t d, float scale,
                                const PagedHeadRows& rows) {
  const int64_t chunks = d / 16;
  alignas(64) float o[NH][kMaxChunks * 16] = {};
  alignas(64) float p[NH][kBlock];
  float row_max[NH], denom[NH];
  for (int h = 0; h < NH; ++h) row_max[h] = -std::numeric_limits<float>::infinity(), denom[h] = 0.f;
  const float* krow[kBlock + kAhead];
  const float* vrow[kBlock];
  for (int64_t start = 0; start < count; start += kBlock) {
    const int n = int(std::min<int64_t>(kBlock, count - start));
    const int known = int(std::min<int64_t>(kBlock + kAhead, count - start));  // includes the next block's first keys
    for (int j = 0; j < known; ++j) krow[j] = rows.k + int64_t(rows.slots[start + j]) * rows.slot_stride;
    for (int j = 0; j < n; ++j) vrow[j] = rows.v + int64_t(rows.slots[start + j]) * rows.slot_stride;
    // Scores: each key chunk loaded once for every head, two accumulators per head. The
    // slots are scattered rows a page apart, which the hardware prefetcher does not follow:
    // keys kAhead ahead are prefetched into L1, this key's values into L2 for the p·V pass.
    for (int j = 0; j < n; ++j) {
      if (j + kAhead < known)
        for (int64_t c = 0; c < d; c += 16) _mm_prefetch(reinterpret_cast<const char*>(krow[j + kAhead] + c), _MM_HINT_T0);
      for (int64_t c = 0; c < d; c += 16) _mm_prefetch(reinterpret_cast<const char*>(vrow[j] + c), _MM_HINT_T1);
      __m512 acc[NH][2];
      for (int h = 0; h < NH; ++h) acc[h][0] = acc[h][1] = _mm512_setzero_ps();
      for (int64_t c = 0; c < chunks; ++c) {
        const __m512 kv = _mm512_loadu_ps(krow[j] + c * 16);
        for (int h = 0; h < NH; ++h)
          acc[h][c & 1] = _mm512_fmadd_ps(_mm512_loadu_ps(q + h * d + c * 16), kv, acc[h][c & 1]);
      }
      for (int h = 0; h < NH; ++h) p[h][j] = _mm512_reduce_add_ps(_mm512_add_ps(acc[h][0], acc[h][1])) * scale;
    }
    // Online softmax per head over the block's n scores.
    for (int h = 0; h < NH; ++h) {
      float block_max = -std::numeric_limits<float>::infinity();
      for (int j = 0; j < n; ++j) block_max = std::max(block_max, p[h][j]);
      const float new_max = std::max(row_max[h], block_max);
      const float correction = std::exp(row_max[h] - new_max);  // 0 on the first block
      __m512 sum = _mm512_setzero_ps();
      for (int j0 = 0; j0 < n; j0 += 16) {
        const __mmask16 valid = n - j0 >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - j0)) - 1);
        const __m512 e = _mm512_maskz_mov_ps(
            valid, exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(p[h] + j0), _mm512_set1_ps(new_max))));
        _mm512_storeu_ps(p[h] + j0, e);
        sum = _mm512_add_ps(sum, e);
      }
      denom[h] = denom[h] * correction + _mm512_reduce_add_ps(sum);
      row_max[h] = new_max;
      if (correction != 1.f)
        for (int64_t c = 0; c < chunks; ++c)
          _mm512_store_ps(o[h] + c * 16, _mm512_mul_ps(_mm512_load_ps(o[h] + c * 16), _mm512_set1_ps(correction)));
    }
    // o += p · V, one output chunk of every head in registers across the block's values.
    for (int64_t c = 0; c < chunks; ++c) {
      __m512 acc[NH];
      for (int h = 0; h < NH; ++h) acc[h] = _mm512_load_ps(o[h] + c * 16);
      for (int j = 0; j < n; ++j) {
        const __m512 vv = _mm512_loadu_ps(vrow[j] + c * 16);
        for (int h = 0; h < NH; ++h) acc[h] = _mm512_fmadd_ps(_mm512_set1_ps(p[h][j]), vv, acc[h]);
      }
      for (int h = 0; h < NH; ++h) _mm512_store_ps(o[h] + c * 16, acc[h]);
    }
  }
  for (int h = 0; h < NH; ++h) {
    const float inv = denom[h] > 0 ? 1.f / denom[h] : 0.f;
    for (int64_t i = 0; i < d; ++i) out[h * d + i] = o[h][i] * inv;
  }
}

}  // namespace

void attend_heads_decode(float* out, const float* q, int heads, int64_t count, int64_t d, float scale,
                         const PagedHeadRows& rows) {
  for (int h0 = 0; h0 < heads;) {
    const int left = heads - h0;
    float* o = out + h0 * d;
    const float* qh = q + h0 * d;
    if (left >= 8) {
      attend<8>(o, qh, count, d, scale, rows), h0 += 8;
    } else if (left >= 4) {
      attend<4>(o, qh, count, d, scale, rows), h0 += 4;
    } else if (left >= 2) {
      attend<2>(o, qh, count, d, scale, rows), h0 += 2;
    } else {
      attend<1>(o, qh, count, d, scale, rows), h0 += 1;
    }
  }
}

}  // namespace loupe::cpu
