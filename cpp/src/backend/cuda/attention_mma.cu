// Tensor-core flash attention for prefill and vision segments (bf16, head_dim 64/128).
// A block owns 64 query rows of one sequence and one q head; 4 warps own 16 rows each.
// Keys stream through shared memory in tiles of 64 (16-byte loads through the slot
// table or from the contiguous segment); S = Q·Kᵀ and O += P·V run on the tensor cores
// (WMMA bf16 → fp32), the online softmax runs in fp32 on the score tile in shared memory.
// P is rounded to bf16 before P·V, as HF casts attention weights to the query dtype.
#include <mma.h>

#include <algorithm>
#include <cfloat>
#include <cstdint>

#include "backend/cuda/device_math.cuh"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"

namespace loupe::cuda {
namespace {

using namespace nvcuda;

constexpr int kRows = 64;     // query rows per block
constexpr int kKeys = 64;     // keys per tile
constexpr int kMmaWarps = 4;  // 16 rows each
constexpr float kLog2eMma = 1.4426950408889634f;

template <int kHd>
struct Smem {
  static constexpr int ld = kHd + 8;       // bf16 tiles, padded against bank conflicts
  static constexpr int ld_s = kKeys + 4;   // fp32 scores
  static constexpr int ld_p = kKeys + 8;   // bf16 probabilities
  static constexpr int ld_o = kHd + 4;     // fp32 output accumulator
  __nv_bfloat16 q[kRows * ld];
  __nv_bfloat16 k[kKeys * ld];
  __nv_bfloat16 v[kKeys * ld];
  float s[kMmaWarps][16 * ld_s];
  __nv_bfloat16 p[kMmaWarps][16 * ld_p];
  float o[kMmaWarps][16 * ld_o];
};

template <int kHd>
__global__ void __launch_bounds__(kMmaWarps * 32)
attention_mma_kernel(AttentionProblem p, int tiles_per_seq) {
  extern __shared__ __align__(128) unsigned char smem_raw[];
  auto& sm = *reinterpret_cast<Smem<kHd>*>(smem_raw);
  constexpr int ld = Smem<kHd>::ld, ld_s = Smem<kHd>::ld_s, ld_p = Smem<kHd>::ld_p, ld_o = Smem<kHd>::ld_o;
  constexpr int kChunks = kHd / 8;  // 16-byte chunks per row

  const int b = blockIdx.x / tiles_per_seq, tile = blockIdx.x % tiles_per_seq;
  const int head = blockIdx.y;
  const int group = p.heads / p.kv_heads, kvh = head / group;
  const int q_len = p.q_len[b], kv_len = p.kv_len[b];
  const int row0 = tile * kRows;
  if (row0 >= q_len) return;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const auto* q = static_cast<const __nv_bfloat16*>(p.q);
  const auto* k = static_cast<const __nv_bfloat16*>(p.k);
  const auto* v = static_cast<const __nv_bfloat16*>(p.v);
  const int64_t q_stride = int64_t(p.heads) * kHd, kv_stride = int64_t(p.kv_heads) * kHd;
  const int64_t q_base = int64_t(p.q_start[b]);

  // Q tile (rows past the sequence are zeros).
  for (int idx = threadIdx.x; idx < kRows * kChunks; idx += blockDim.x) {
    const int r = idx / kChunks, c = idx % kChunks;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (row0 + r < q_len)
      val = *reinterpret_cast<const uint4*>(q + (q_base + row0 + r) * q_stride + int64_t(head) * kHd + c * 8);
    *reinterpret_cast<uint4*>(&sm.q[r * ld + c * 8]) = val;
  }
  float* o_w = sm.o[warp];
  for (int idx = lane; idx < 16 * ld_o; idx += 32) o_w[idx] = 0.0f;

  const int offset = p.causal ? kv_len - q_len : 0;
  const int last_row = min(q_len, row0 + kRows) - 1;
  const int key_end = p.causal ? min(kv_len, offset + last_row + 1) : kv_len;
  const float scale = p.scale * kLog2eMma;
  // Softmax bookkeeping: lane pair (2r, 2r+1) owns row r of the warp's 16, 32 cols each.
  const int my_row = lane >> 1, half = lane & 1;
  const int q_local = row0 + warp * 16 + my_row;  // row within the sequence
  const int my_end = q_local < q_len ? (p.causal ? min(kv_len, offset + q_local + 1) : kv_len) : 0;
  float m = -FLT_MAX, l = 0.0f;

  for (int t0 = 0; t0 < key_end; t0 += kKeys) {
    __syncthreads();  // previous tile consumed; Q written on the first pass
    for (int idx = threadIdx.x; idx < kKeys * kChunks; idx += blockDim.x) {
      const int j = idx / kChunks, c = idx % kChunks;
      const int key = t0 + j;
      uint4 kval = make_uint4(0, 0, 0, 0), vval = kval;
      if (key < key_end) {
        const int64_t row = p.kv_slots ? int64_t(p.kv_slots[int64_t(b) * p.slots_stride + key])
                                       : int64_t(p.kv_start[b]) + key;
        const int64_t off = row * kv_stride + int64_t(kvh) * kHd + c * 8;
        kval = *reinterpret_cast<const uint4*>(k + off);
        vval = *reinterpret_cast<const uint4*>(v + off);
      }
      *reinterpret_cast<uint4*>(&sm.k[j * ld + c * 8]) = kval;
      *reinterpret_cast<uint4*>(&sm.v[j * ld + c * 8]) = vval;
    }
    __syncthreads();

    // S[16, 64] = Q_w[16, hd] · K[64, hd]ᵀ
    float* s_w = sm.s[warp];
#pragma unroll
    for (int n = 0; n < kKeys / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
#pragma unroll
      for (int kk = 0; kk < kHd / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> bk;
        wmma::load_matrix_sync(a, &sm.q[(warp * 16) * ld + kk * 16], ld);
        wmma::load_matrix_sync(bk, &sm.k[(n * 16) * ld + kk * 16], ld);
        wmma::mma_sync(acc, a, bk, acc);
      }
      wmma::store_matrix_sync(&s_w[n * 16], acc, ld_s, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax on row my_row, columns [half*32, half*32 + 32).
    float* srow = &s_w[my_row * ld_s + half * 32];
    float mx = -FLT_MAX;
#pragma unroll 8
    for (int c = 0; c < 32; ++c) {
      const int key = t0 + half * 32 + c;
      const float sv = key < my_end ? srow[c] * scale : -FLT_MAX;
      srow[c] = sv;
      mx = fmaxf(mx, sv);
    }
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    const float m_new = fmaxf(m, mx);
    const bool any = m_new > -FLT_MAX;
    const float corr = any ? exp2f(m - m_new) : 1.0f;
    float sum = 0.0f;
    __nv_bfloat16* prow = &sm.p[warp][my_row * ld_p + half * 32];
#pragma unroll 8
    for (int c = 0; c < 32; ++c) {
      const float pv = (any && srow[c] > -FLT_MAX) ? exp2f(srow[c] - m_new) : 0.0f;
      const __nv_bfloat16 pb = __float2bfloat16_rn(pv);
      prow[c] = pb;
      sum += __bfloat162float(pb);  // normalise by what P·V actually sums
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    l = l * corr + sum;
    m = m_new;
    float* orow = &o_w[my_row * ld_o + half * (kHd / 2)];
#pragma unroll 8
    for (int d = 0; d < kHd / 2; ++d) orow[d] *= corr;
    __syncwarp();

    // O_w[16, hd] += P[16, 64] · V[64, hd]
#pragma unroll
    for (int n = 0; n < kHd / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::load_matrix_sync(acc, &o_w[n * 16], ld_o, wmma::mem_row_major);
#pragma unroll
      for (int kk = 0; kk < kKeys / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major> bv;
        wmma::load_matrix_sync(a, &sm.p[warp][kk * 16], ld_p);
        wmma::load_matrix_sync(bv, &sm.v[(kk * 16) * ld + n * 16], ld);
        wmma::mma_sync(acc, a, bv, acc);
      }
      wmma::store_matrix_sync(&o_w[n * 16], acc, ld_o, wmma::mem_row_major);
    }
    __syncwarp();
  }

  if (q_local < q_len) {
    auto* out = static_cast<__nv_bfloat16*>(p.out);
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    const float* orow = &o_w[my_row * ld_o + half * (kHd / 2)];
    __nv_bfloat16* dst = out + (q_base + q_local) * q_stride + int64_t(head) * kHd + half * (kHd / 2);
    for (int d = 0; d < kHd / 2; ++d) dst[d] = __float2bfloat16_rn(orow[d] * inv);
  }
}

template <int kHd>
void launch_mma(const AttentionProblem& p, cudaStream_t stream) {
  const int tiles = (p.max_q_len + kRows - 1) / kRows;
  const size_t smem = sizeof(Smem<kHd>) + 128;
  auto kernel = attention_mma_kernel<kHd>;
  static bool configured = false;  // per instantiation; the attribute is per function
  if (!configured) {
    LOUPE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    configured = true;
  }
  dim3 grid(unsigned(p.batch * tiles), unsigned(p.heads));
  kernel<<<grid, kMmaWarps * 32, smem, stream>>>(p, tiles);
  LOUPE_CUDA_CHECK_LAUNCH();
}

}  // namespace

bool launch_attention_mma(const AttentionProblem& p, cudaStream_t stream) {
  if (p.dtype != DType::BF16 || p.max_q_len < 16) return false;
  if (p.head_dim != 64 && p.head_dim != 128) return false;
  const auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  if (!aligned(p.q) || !aligned(p.k) || !aligned(p.v)) return false;
  if (p.head_dim == 64) launch_mma<64>(p, stream);
  else launch_mma<128>(p, stream);
  return true;
}

}  // namespace loupe::cuda
