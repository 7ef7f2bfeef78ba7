// Dot-product form, as the bf16 kernel (cpu_gemm_bf16.cpp): a register tile of MR
// activation rows by NR weight rows, weight rows walked in L2-sized blocks reused by every
// activation row group. Per 32 values of K a weight row costs one sign-extending load and a
// vpdpwssd per activation row; every kInt8ActivationBlock values the int32 sums are scaled
// into fp32 accumulators (which is why the tile is smaller than the bf16 one: 2·MR·NR
// accumulators).
#include "backend/cpu/cpu_gemm_int8.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "backend/cpu/cpu_kernels.h"
#include "backend/int8_weights.h"

// GCC 12's masked-load intrinsics read an "undefined" vector it reports as uninitialised.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define LOUPE_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

namespace loupe::cpu {
namespace {

// Register tiles (MR activation rows x NR weight rows, 2·MR·NR accumulators): decode (one
// or two rows) streams 8 weight rows at once; larger M reuses each converted weight vector
// across 3 rows.
struct TileShape {
  int mr, nr;
};
constexpr TileShape kDecodeTile{1, 8}, kBatchTile{3, 4};
static_assert(kDecodeTile.nr >= kBatchTile.nr);  // the driver's row-pointer array fits both
constexpr int64_t kBlockBytes = 256 << 10;  // weight bytes per L2 block
static_assert(kInt8ActivationBlock % 32 == 0 && kInt8ActivationBlock * 127 * 32767 < (int64_t(1) << 31));

int64_t round_up_32(int64_t k) { return (k + 31) / 32 * 32; }

// round(v) as int16 for |v| <= 32767 (plus rounding): half to even, as vcvtps2dq.
int16_t round_to_int16(float v) { return int16_t(std::clamp(round_small_to_even(v), -32767.0f, 32767.0f)); }

float amax_of(const float* src, int64_t n) {
  float amax = 0;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::abs(src[i]));
  return amax;
}

LOUPE_VNNI_TARGET float amax_of_avx512(const float* src, int64_t n) {
  __m512 m = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_abs_ps(_mm512_loadu_ps(src + i)));
  return std::max(_mm512_reduce_max_ps(m), amax_of(src + i, n - i));
}

// Round half to even in the default rounding mode, as round_to_int16, so the vector and
// scalar paths give the same values.
LOUPE_VNNI_TARGET void round_to_int16_avx512(int16_t* dst, const float* src, int64_t n, float inv) {
  const __m512 scale = _mm512_set1_ps(inv);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        _mm512_cvtsepi32_epi16(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(src + i), scale))));
  for (; i < n; ++i) dst[i] = round_to_int16(src[i] * inv);
}

// Quantises one plane of `k` values at step max|src| / 32767 per block into dst and scales.
void quantize_plane(int16_t* dst, float* scales, const float* src, int64_t k, int64_t blocks) {
  const bool vector = has_avx512_vnni();
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t lo = b * kInt8ActivationBlock, count = std::min(k, lo + kInt8ActivationBlock) - lo;
    const float amax = vector ? amax_of_avx512(src + lo, count) : amax_of(src + lo, count);
    const float inv = amax > 0 ? 32767.0f / amax : 0.0f;
    if (vector) {
      round_to_int16_avx512(dst + lo, src + lo, count, inv);
    } else {
      for (int64_t i = lo; i < lo + count; ++i) dst[i] = round_to_int16(src[i] * inv);
    }
    scales[b] = amax / 32767.0f;
  }
}

// y[r, j] = Σ_blocks scale[r, b] · (xq_r · q_j over block b) for r < MR, j < nv; rows of q
// beyond nv point at valid memory (the caller repeats the last row) and are dropped. While
// it works, the tile prefetches the same columns of the next tile's rows (NR rows on): the
// hardware prefetcher alone leaves the stream of short rows well below bandwidth.
// Every tile shape computes each output as the same sums in the same order, so a request's
// result does not depend on the batch it runs in.
template <int MR, int NR>
LOUPE_VNNI_TARGET void tile(float* y, int64_t ldy, const int16_t* x, int64_t ldx, const float* xs, int64_t ldxs,
                            const int8_t* const* w, int nv, int64_t k) {
  __m512 acc[MR][NR];
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 8
    for (int j = 0; j < NR; ++j) acc[r][j] = _mm512_setzero_ps();
  for (int64_t b0 = 0, block = 0; b0 < k; b0 += kInt8ActivationBlock, ++block) {
    __m512i sum[MR][NR];
    #pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
      #pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) sum[r][j] = _mm512_setzero_si512();
    const int64_t end = std::min(k, b0 + kInt8ActivationBlock);
    const int64_t full_end = b0 + ((end - b0) & ~int64_t(31));
    for (int64_t i = b0; i < full_end; i += 32) {
      __m512i xv[MR];
      #pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) xv[r] = _mm512_loadu_si512(x + r * ldx + i);
      #pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) {
        _mm_prefetch(reinterpret_cast<const char*>(w[j] + i + NR * k), _MM_HINT_T0);
        const __m512i wv = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[j] + i)));
        #pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) sum[r][j] = _mm512_dpwssd_epi32(sum[r][j], xv[r], wv);
      }
    }
    if (full_end < end) {  // lanes past K: the weights load as zero (the activations are zero padded)
      const __mmask32 mask = __mmask32((1u << (end - full_end)) - 1);
      __m512i xv[MR];
      #pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) xv[r] = _mm512_loadu_si512(x + r * ldx + full_end);
      #pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) {
        const __m512i wv = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(mask, w[j] + full_end));
        #pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) sum[r][j] = _mm512_dpwssd_epi32(sum[r][j], xv[r], wv);
      }
    }
    #pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 scale = _mm512_set1_ps(xs[r * ldxs + block]);
      #pragma GCC unroll 8
      for (int j = 0; j < NR; ++j) acc[r][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[r][j]), scale, acc[r][j]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 8
    for (int j = 0; j < nv; ++j) y[r * ldy + j] = _mm512_reduce_add_ps(acc[r][j]);
}

using TileFn = void (*)(float*, int64_t, const int16_t*, int64_t, const float*, int64_t, const int8_t* const*, int,
                        int64_t);

// The kernel for `mr` rows (1..shape.mr) of a tile of `shape`.
TileFn tile_for(TileShape shape, int mr) {
  if (shape.nr == kDecodeTile.nr) return tile<1, kDecodeTile.nr>;
  switch (mr) {
    case 3: return tile<3, kBatchTile.nr>;
    case 2: return tile<2, kBatchTile.nr>;
    default: return tile<1, kBatchTile.nr>;
  }
}

}  // namespace

bool has_avx512_vnni() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool yes = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
  return yes;
#else
  return false;
#endif
}

namespace {

void prepare(Int16Activations& out, int64_t m, int64_t k, bool exact) {
  out.planes = exact ? 2 : 1;
  // One cache line of padding per row, so rows are not 4 KiB apart (see cpu_gemm_bf16.cpp).
  out.ld = round_up_32(k) + 32;
  out.blocks = (k + kInt8ActivationBlock - 1) / kInt8ActivationBlock;
  out.values.assign(size_t(m * out.planes * out.ld), 0);
  out.scales.resize(size_t(m * out.planes * out.blocks));
}

void quantize_rows(Int16Activations& out, const float* x, int64_t k, int64_t first, int64_t end) {
  std::vector<float> rest(out.planes > 1 ? size_t(k) : 0);
  for (int64_t r = first; r < end; ++r) {
    int16_t* hi = out.values.data() + r * out.planes * out.ld;
    float* hi_scales = out.scales.data() + r * out.planes * out.blocks;
    quantize_plane(hi, hi_scales, x + r * k, k, out.blocks);
    if (out.planes == 1) continue;
    for (int64_t i = 0; i < k; ++i) rest[size_t(i)] = x[r * k + i] - float(hi[i]) * hi_scales[i / kInt8ActivationBlock];
    quantize_plane(hi + out.ld, hi_scales + out.blocks, rest.data(), k, out.blocks);
  }
}

}  // namespace

void quantize_activations_int16(Int16Activations& out, const float* x, int64_t m, int64_t k, bool exact) {
  prepare(out, m, k, exact);
  quantize_rows(out, x, k, 0, m);
}

void dequantize_activations_int16(float* x, const Int16Activations& in, int64_t m, int64_t k) {
  for (int64_t r = 0; r < m; ++r)
    for (int64_t i = 0; i < k; ++i) {
      float v = 0;
      for (int p = 0; p < in.planes; ++p) {
        const int64_t row = r * in.planes + p;
        v += float(in.values[size_t(row * in.ld + i)]) * in.scales[size_t(row * in.blocks + i / kInt8ActivationBlock)];
      }
      x[r * k + i] = v;
    }
}

void gemm_int8(float* y, int64_t ldy, const float* x, const int8_t* q, const float* scales, int64_t m, int64_t n,
               int64_t k, Bf16Activations mode, Int16Activations& xq, ThreadPool& pool) {
  if (m <= 0 || n <= 0) return;
  prepare(xq, m, k, mode == Bf16Activations::Exact);
  pool.parallel_for(m, [&](int64_t rb, int64_t re) { quantize_rows(xq, x, k, rb, re); }, m * k >= kParallelWork);
  // Each plane is a row of its own to the kernel; exact mode sums the two planes' results.
  const int64_t rows = m * xq.planes;
  std::vector<float> planes_out(xq.planes > 1 ? size_t(rows * n) : 0);
  float* out = xq.planes > 1 ? planes_out.data() : y;
  const int64_t ldo = xq.planes > 1 ? n : ldy;

  const TileShape shape = rows <= 2 ? kDecodeTile : kBatchTile;
  const int64_t tiles = (n + shape.nr - 1) / shape.nr;
  const int64_t block_tiles = std::max<int64_t>(1, kBlockBytes / (shape.nr * std::max<int64_t>(k, 1)));
  pool.parallel_for(tiles, [&](int64_t tb, int64_t te) {
    for (int64_t b0 = tb; b0 < te; b0 += block_tiles) {
      const int64_t b1 = std::min(te, b0 + block_tiles);
      for (int64_t r0 = 0; r0 < rows; r0 += shape.mr) {
        const TileFn kernel = tile_for(shape, int(std::min<int64_t>(shape.mr, rows - r0)));
        for (int64_t t = b0; t < b1; ++t) {
          const int64_t n0 = t * shape.nr;
          const int nv = int(std::min<int64_t>(shape.nr, n - n0));
          const int8_t* w[kDecodeTile.nr];
          for (int j = 0; j < shape.nr; ++j) w[j] = q + (n0 + std::min(j, nv - 1)) * k;
          kernel(out + r0 * ldo + n0, ldo, xq.values.data() + r0 * xq.ld, xq.ld, xq.scales.data() + r0 * xq.blocks,
                 xq.blocks, w, nv, k);
        }
      }
    }
  }, rows * n * k >= kParallelWork);

  pool.parallel_for(m, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r)
      for (int64_t c = 0; c < n; ++c) {
        const float v = xq.planes > 1 ? out[2 * r * n + c] + out[(2 * r + 1) * n + c] : y[r * ldy + c];
        y[r * ldy + c] = v * scales[c];
      }
  }, m * n >= kParallelWork);
}

}  // namespace loupe::cpu
