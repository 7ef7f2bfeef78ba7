// Dot-product form of a bf16 GEMM: each output is a K-long dot of an activation row and a
// weight row, both bf16, so the weights are read as stored. A register tile of kMR
// activation rows by kNR weight rows keeps kMR·kNR fp32 accumulators live: every 32 bf16 of
// K costs kMR + kNR loads for kMR·kNR vdpbf16ps, enough reuse to stay compute-bound out of
// L1/L2. Weight rows are walked in L2-sized blocks so a block is reused by every activation
// row group before the next is streamed (decode: each weight byte is read once per step
// whatever the batch).
#include "backend/cpu/cpu_gemm_bf16.h"

#include <immintrin.h>

#include <algorithm>

#include "backend/cpu/cpu_kernels.h"
#include "core/dtype.h"

// GCC 12's _mm512_maskz_loadu_epi16 reads an "undefined" vector it reports as uninitialised.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define LOUPE_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

namespace loupe::cpu {
namespace {

constexpr int kMR = 4;                   // activation rows per register tile
constexpr int kNR = 6;                   // weight rows per register tile (4·6 = 24 accumulators)
constexpr int64_t kBlockBytes = 256 << 10;  // weight bytes per L2 block
constexpr int64_t kRowPad = 32;             // bf16 values (one cache line) after each activation row

LOUPE_BF16_TARGET void round_rows_to_bf16(uint16_t* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
    _mm512_storeu_si512(dst + i, (__m512i)v);
  }
  for (; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

inline __attribute__((always_inline)) LOUPE_BF16_TARGET __m512 widen(__m256i bf16) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bf16), 16));
}

// dst[p * n + i] for p < 3: bf16 parts with src[i] == hi + mid + lo to fp32 precision (each
// remainder is exact in fp32, so nothing is lost but the last part's rounding).
LOUPE_BF16_TARGET void split_rows_to_bf16(uint16_t* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 rest = _mm512_loadu_ps(src + i);
    for (int part = 0; part < 3; ++part) {
      const __m256i h = (__m256i)_mm512_cvtneps_pbh(rest);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + part * n + i), h);
      rest = _mm512_sub_ps(rest, widen(h));
    }
  }
  for (; i < n; ++i) {
    float rest = src[i];
    for (int part = 0; part < 3; ++part) {
      dst[part * n + i] = f32_to_bf16(rest);
      rest -= bf16_to_f32(dst[part * n + i]);
    }
  }
}

// y[r, j] = x_r · w_j for r < MR, j < nv. Rows of w beyond nv point at valid memory (the
// caller repeats the last row) and their results are dropped.
// With PASSES > 1, x_r has PASSES bf16 planes of k values each (row stride ldx = PASSES·k),
// all accumulated into the same sums.
// Each whole step also prefetches up to pf_lines cache lines from pf into L2, stopping at
// pf_end (the next weight block, see gemm_bf16).
template <int MR, int PASSES>
LOUPE_BF16_TARGET void tile(float* y, int64_t ldy, const uint16_t* x, int64_t ldx, const uint16_t* const* w,
                            int nv, int64_t k, const char* pf, const char* pf_end, int pf_lines) {
  __m512 acc[MR][kNR];
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 8
    for (int j = 0; j < kNR; ++j) acc[r][j] = _mm512_setzero_ps();
  // Whole steps load unmasked; the last, partial step masks lanes past K in both inputs.
  // (Masked loads in every step cost about 8 %. The two loops are written out: a helper
  // taking `acc` by reference made GCC keep the accumulators in memory.)
  const int64_t k_whole = k & ~int64_t(31);
  for (int64_t i = 0; i < k_whole; i += 32) {
    for (int l = 0; l < pf_lines && pf < pf_end; ++l, pf += 64) _mm_prefetch(pf, _MM_HINT_T1);
    #pragma GCC unroll 4
    for (int pass = 0; pass < PASSES; ++pass) {
      __m512i xv[MR];
      #pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) xv[r] = _mm512_loadu_si512(x + r * ldx + pass * k + i);
      #pragma GCC unroll 8
      for (int j = 0; j < kNR; ++j) {
        const __m512i wv = _mm512_loadu_si512(w[j] + i);
        #pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], (__m512bh)xv[r], (__m512bh)wv);
      }
    }
  }
  if (k_whole < k) {
    const __mmask32 mask = __mmask32((1u << (k - k_whole)) - 1);
    #pragma GCC unroll 4
    for (int pass = 0; pass < PASSES; ++pass) {
      __m512i xv[MR];
      #pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) xv[r] = _mm512_maskz_loadu_epi16(mask, x + r * ldx + pass * k + k_whole);
      #pragma GCC unroll 8
      for (int j = 0; j < kNR; ++j) {
        const __m512i wv = _mm512_maskz_loadu_epi16(mask, w[j] + k_whole);
        #pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], (__m512bh)xv[r], (__m512bh)wv);
      }
    }
  }
  float sums[MR][kNR];
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 8
    for (int j = 0; j < kNR; ++j) sums[r][j] = _mm512_reduce_add_ps(acc[r][j]);
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
    #pragma GCC unroll 8
    for (int j = 0; j < nv; ++j) y[r * ldy + j] = sums[r][j];
}

template <int PASSES>
LOUPE_BF16_TARGET void tile_rows(int mr, float* y, int64_t ldy, const uint16_t* x, int64_t ldx,
                                 const uint16_t* const* w, int nv, int64_t k, const char* pf, const char* pf_end,
                                 int pf_lines) {
  switch (mr) {
    case 4: return tile<4, PASSES>(y, ldy, x, ldx, w, nv, k, pf, pf_end, pf_lines);
    case 3: return tile<3, PASSES>(y, ldy, x, ldx, w, nv, k, pf, pf_end, pf_lines);
    case 2: return tile<2, PASSES>(y, ldy, x, ldx, w, nv, k, pf, pf_end, pf_lines);
    default: return tile<1, PASSES>(y, ldy, x, ldx, w, nv, k, pf, pf_end, pf_lines);
  }
}

}  // namespace

bool has_avx512_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool yes = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
  return yes;
#else
  return false;
#endif
}

// Prepares the bf16 planes of x, then each thread walks its contiguous range of output
// columns in L2 blocks of weight rows.
void gemm_bf16(float* y, int64_t ldy, const float* x, const uint16_t* w, int64_t m, int64_t n, int64_t k,
               Bf16Activations mode, std::vector<uint16_t>& scratch, ThreadPool& pool) {
  if (m <= 0 || n <= 0) return;
  const bool exact = mode == Bf16Activations::Exact;
  // Activation rows padded by one cache line: Qwen's K is a multiple of 2048, so unpadded
  // rows 4 KiB apart fall in one L1 set with the weight rows (also 4 KiB apart) and evict
  // each other every step; padded, the kernel runs about 1.4x faster at large M.
  const int64_t ldx = (exact ? 3 * k : k) + kRowPad;
  scratch.resize(size_t(m * ldx));
  uint16_t* xb = scratch.data();
  pool.parallel_for(m, [&](int64_t rb, int64_t re) {
    for (int64_t r = rb; r < re; ++r) {
      if (exact) {
        split_rows_to_bf16(xb + r * ldx, x + r * k, k);
      } else {
        round_rows_to_bf16(xb + r * ldx, x + r * k, k);
      }
    }
  }, m * k >= kParallelWork);

  const int64_t tiles = (n + kNR - 1) / kNR;
  const int64_t block_tiles = std::max<int64_t>(1, kBlockBytes / (kNR * std::max<int64_t>(k, 1) * 2));
  // With several row groups a block is streamed from memory by the first group's tiles and
  // then served from L2 to the others; while they compute, each tile prefetches its share of
  // the next block into L2, so the stream overlaps the compute instead of stalling it.
  const int64_t groups = (m + kMR - 1) / kMR;
  const int64_t steps = k / 32;
  pool.parallel_for(tiles, [&](int64_t tb, int64_t te) {
    for (int64_t b0 = tb; b0 < te; b0 += block_tiles) {
      const int64_t b1 = std::min(te, b0 + block_tiles);
      const uint16_t* block = w + b0 * kNR * k;
      const char* pf = nullptr;
      const char* pf_end = nullptr;
      int pf_lines = 0;
      if (groups > 1 && steps > 0 && b1 < te) {
        pf = reinterpret_cast<const char*>(w + b1 * kNR * k);
        pf_end = reinterpret_cast<const char*>(w + std::min(n, std::min(te, b1 + block_tiles) * kNR) * k);
        const int64_t calls = groups * (b1 - b0);
        pf_lines = int(((pf_end - pf) + calls * steps * 64 - 1) / (calls * steps * 64));
      }
      for (int64_t r0 = 0; r0 < m; r0 += kMR) {
        const int mr = int(std::min<int64_t>(kMR, m - r0));
        for (int64_t t = b0; t < b1; ++t) {
          const int64_t n0 = t * kNR;
          const int nv = int(std::min<int64_t>(kNR, n - n0));
          const uint16_t* rows[kNR];
          for (int j = 0; j < kNR; ++j) rows[j] = block + (n0 - b0 * kNR + std::min(j, nv - 1)) * k;
          if (exact) {
            tile_rows<3>(mr, y + r0 * ldy + n0, ldy, xb + r0 * ldx, ldx, rows, nv, k, pf, pf_end, pf_lines);
          } else {
            tile_rows<1>(mr, y + r0 * ldy + n0, ldy, xb + r0 * ldx, ldx, rows, nv, k, pf, pf_end, pf_lines);
          }
          pf = std::min(pf_end, pf + int64_t(pf_lines) * steps * 64);
        }
      }
    }
  }, m * n * k >= kParallelWork);
}

}  // namespace loupe::cpu
