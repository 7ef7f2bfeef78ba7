// Flash-style attention for the vision tower (bidirectional, per segment) and the text
// decoder (causal, K/V read through the token-slot table). No T×T buffer: keys stream
// through shared memory in tiles of 32 with an online softmax.
//
// A block serves one kv head and 8 consecutive (query row, q head of the GQA group)
// pairs of one sequence, one pair per warp, so each K/V tile loaded from the pool is
// shared by every q head of the group and by several rows. Within a warp, lane j scores
// key j of the tile; each lane then accumulates head_dim/32 output dims. Decode (few
// query rows, long context) splits the keys across blocks (split-K) and a second kernel
// merges the partial softmaxes.
#include <algorithm>
#include <cfloat>
#include <cstdint>

#include "backend/cuda/device_math.cuh"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"

namespace loupe::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kTile = 32;  // keys per shared-memory tile (one per lane)
constexpr float kLog2e = 1.4426950408889634f;

struct SplitPlan {
  int tiles_per_seq = 1;  // blocks along one sequence's (row, group head) pairs
  int splits = 1;
  int keys_per_split = 0;
};

SplitPlan plan_for(const AttentionProblem& p, int num_sms) {
  SplitPlan plan;
  const int group = p.heads / p.kv_heads;
  plan.tiles_per_seq = (p.max_q_len * group + kWarps - 1) / kWarps;
  const int64_t blocks = int64_t(p.batch) * plan.tiles_per_seq * p.kv_heads;
  const int key_tiles = (p.max_kv_len + kTile - 1) / kTile;
  if (blocks < 2LL * num_sms && key_tiles >= 8) {
    int splits = int((2LL * num_sms + blocks - 1) / blocks);
    splits = std::min(splits, key_tiles / 4);  // at least 4 tiles (128 keys) per split
    splits = std::min(splits, 64);
    if (splits > 1) {
      const int tiles_per_split = (key_tiles + splits - 1) / splits;
      plan.keys_per_split = tiles_per_split * kTile;
      plan.splits = (p.max_kv_len + plan.keys_per_split - 1) / plan.keys_per_split;
    }
  }
  if (plan.splits <= 1) {
    plan.splits = 1;
    plan.keys_per_split = p.max_kv_len;
  }
  return plan;
}

template <typename T, int kDimsPerLane>
__global__ void __launch_bounds__(kWarps * 32)
attention_kernel(AttentionProblem p, SplitPlan plan, float* partial) {
  extern __shared__ float smem[];
  const int hd = p.head_dim, stride = hd + 1;  // +1: lanes read different rows bank-free
  float* q_s = smem;                           // [kWarps][hd]
  float* k_s = q_s + kWarps * hd;              // [kTile][hd + 1]
  float* v_s = k_s + kTile * stride;           // [kTile][hd + 1]

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int b = blockIdx.x / plan.tiles_per_seq, tile = blockIdx.x % plan.tiles_per_seq;
  const int kvh = blockIdx.y, split = blockIdx.z;
  const int group = p.heads / p.kv_heads;
  const int q_len = p.q_len[b], kv_len = p.kv_len[b];
  const int first_pair = tile * kWarps;
  if (first_pair >= q_len * group) return;  // whole block idle (uniform exit)

  const int pair = first_pair + warp;
  const bool active = pair < q_len * group;
  const int row = pair / group, head = kvh * group + pair % group;
  const int64_t q_row = int64_t(p.q_start[b]) + row;
  const int causal_offset = kv_len - q_len;
  // Keys this warp may see, and the union over the block's warps.
  const int my_end = p.causal ? min(kv_len, causal_offset + row + 1) : kv_len;
  const int last_row = min(q_len - 1, (first_pair + kWarps - 1) / group);
  const int block_end = p.causal ? min(kv_len, causal_offset + last_row + 1) : kv_len;
  const int key_begin = split * plan.keys_per_split;
  const int key_end = min(block_end, key_begin + plan.keys_per_split);

  const T* q = static_cast<const T*>(p.q);
  const T* k = static_cast<const T*>(p.k);
  const T* v = static_cast<const T*>(p.v);
  const int64_t q_stride = int64_t(p.heads) * hd, kv_stride = int64_t(p.kv_heads) * hd;
  const float qk_scale = p.scale * kLog2e;  // softmax in base 2
  if (active)
    for (int d = lane; d < hd; d += 32) q_s[warp * hd + d] = load_f(q, q_row * q_stride + int64_t(head) * hd + d) * qk_scale;

  float acc[kDimsPerLane];
#pragma unroll
  for (int i = 0; i < kDimsPerLane; ++i) acc[i] = 0.0f;
  float m = -FLT_MAX, l = 0.0f;

  for (int t0 = key_begin; t0 < key_end; t0 += kTile) {
    const int n_keys = min(kTile, key_end - t0);
    __syncthreads();  // previous tile fully consumed (and q_s written, first time)
    for (int idx = threadIdx.x; idx < n_keys * hd; idx += blockDim.x) {
      const int j = idx / hd, d = idx % hd;
      const int key = t0 + j;
      const int64_t src_row = p.kv_slots ? int64_t(p.kv_slots[int64_t(b) * p.slots_stride + key])
                                         : int64_t(p.kv_start[b]) + key;
      const int64_t off = src_row * kv_stride + int64_t(kvh) * hd + d;
      k_s[j * stride + d] = load_f(k, off);
      v_s[j * stride + d] = load_f(v, off);
    }
    __syncthreads();
    if (!active) continue;
    const int valid = min(n_keys, my_end - t0);  // keys of this tile this warp sees
    if (valid <= 0) continue;
    float s = -FLT_MAX;
    if (lane < valid) {
      const float* kr = k_s + lane * stride;
      const float* qr = q_s + warp * hd;
      float dot = 0.0f;
      for (int d = 0; d < hd; ++d) dot += qr[d] * kr[d];
      s = dot;
    }
    const float m_new = fmaxf(m, warp_max(s));
    const float correction = exp2f(m - m_new);
    const float pj = lane < valid ? exp2f(s - m_new) : 0.0f;
    l = l * correction + warp_sum(pj);
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) acc[i] *= correction;
    for (int j = 0; j < valid; ++j) {
      const float w = __shfl_sync(0xffffffffu, pj, j);
      const float* vr = v_s + j * stride;
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) {
        const int d = lane + 32 * i;
        if (d < hd) acc[i] += w * vr[d];
      }
    }
    m = m_new;
  }
  if (!active) return;

  if (plan.splits == 1) {
    T* out = static_cast<T*>(p.out);
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) {
      const int d = lane + 32 * i;
      if (d < hd) store_f(out, q_row * q_stride + int64_t(head) * hd + d, acc[i] * inv);
    }
  } else {
    // Partial: unnormalised acc, running max m (base 2) and sum l.
    float* dst = partial + ((int64_t(split) * p.q_rows + q_row) * p.heads + head) * (hd + 2);
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) {
      const int d = lane + 32 * i;
      if (d < hd) dst[d] = acc[i];
    }
    if (lane == 0) {
      dst[hd] = m;
      dst[hd + 1] = l;
    }
  }
}

// Merges the split partials of one (query row, head) per warp. Splits past a row's
// causal end never wrote their slot, so the merge reads only splits that hold keys.
template <typename T>
__global__ void combine_kernel(AttentionProblem p, SplitPlan plan, const float* partial) {
  const int64_t item = int64_t(blockIdx.x) * (blockDim.x / 32) + (threadIdx.x >> 5);
  const int lane = threadIdx.x & 31;
  // Map the flattened (b, row, head) item to its sequence by walking q_start.
  const int64_t total = int64_t(p.q_rows) * p.heads;
  if (item >= total) return;
  const int64_t q_row = item / p.heads;
  const int head = int(item % p.heads);
  int b = -1;
  for (int i = 0; i < p.batch; ++i)
    if (q_row >= p.q_start[i] && q_row < int64_t(p.q_start[i]) + p.q_len[i]) { b = i; break; }
  if (b < 0) return;  // a row no sequence owns: left untouched, as on the CPU
  const int row = int(q_row - p.q_start[b]);
  const int kv_len = p.kv_len[b], q_len = p.q_len[b];
  const int end = p.causal ? min(kv_len, kv_len - q_len + row + 1) : kv_len;
  const int used = min(plan.splits, (end + plan.keys_per_split - 1) / plan.keys_per_split);
  const int hd = p.head_dim;
  float m = -FLT_MAX;
  for (int s = 0; s < used; ++s) {
    const float* src = partial + ((int64_t(s) * p.q_rows + q_row) * p.heads + head) * (hd + 2);
    if (src[hd + 1] > 0.0f) m = fmaxf(m, src[hd]);
  }
  float l = 0.0f;
  for (int s = 0; s < used; ++s) {
    const float* src = partial + ((int64_t(s) * p.q_rows + q_row) * p.heads + head) * (hd + 2);
    if (src[hd + 1] > 0.0f) l += src[hd + 1] * exp2f(src[hd] - m);
  }
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  T* out = static_cast<T*>(p.out);
  for (int d = lane; d < hd; d += 32) {
    float acc = 0.0f;
    for (int s = 0; s < used; ++s) {
      const float* src = partial + ((int64_t(s) * p.q_rows + q_row) * p.heads + head) * (hd + 2);
      if (src[hd + 1] > 0.0f) acc += src[d] * exp2f(src[hd] - m);
    }
    store_f(out, q_row * int64_t(p.heads) * hd + int64_t(head) * hd + d, acc * inv);
  }
}

template <typename T, int kDimsPerLane>
void launch_typed(const AttentionProblem& p, const SplitPlan& plan, float* partial, cudaStream_t stream) {
  const size_t smem = sizeof(float) * (size_t(kWarps) * p.head_dim + 2 * size_t(kTile) * (p.head_dim + 1));
  auto kernel = attention_kernel<T, kDimsPerLane>;
  if (smem > 48 * 1024) LOUPE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  dim3 grid(unsigned(p.batch * plan.tiles_per_seq), unsigned(p.kv_heads), unsigned(plan.splits));
  kernel<<<grid, kWarps * 32, smem, stream>>>(p, plan, partial);
  LOUPE_CUDA_CHECK_LAUNCH();
  if (plan.splits > 1) {
    const int64_t items = p.q_rows * p.heads;
    combine_kernel<T><<<unsigned((items + 7) / 8), 256, 0, stream>>>(p, plan, partial);
    LOUPE_CUDA_CHECK_LAUNCH();
  }
}

// ---- decode: one query row per sequence ----------------------------------------------
// Memory-bound: each K/V byte should be read once, in wide loads, with many in flight.
// A block serves one (sequence, kv head, key split) and all q heads of the GQA group,
// so K/V are read once per group. Each warp takes 32-key tiles in turn: lane j reads
// key j's whole row with 16-byte loads and scores it against every group head; then the
// warp reads the tile's V rows together (each lane its head_dim/32 dims). The block's
// warps merge their softmax states in shared memory at the end.
constexpr int kDecodeWarps = 4;

bool decode_kernel_fits(const AttentionProblem& p) {
  if (!p.fast_paths || p.max_q_len != 1 || !p.kv_slots || !p.causal) return false;
  const int group = p.heads / p.kv_heads;
  if (p.head_dim != 64 && p.head_dim != 128) return false;
  if (group != 1 && group != 2 && group != 4 && group != 8) return false;
  const auto aligned = [](const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; };
  return aligned(p.k) && aligned(p.v) && (int64_t(p.kv_heads) * p.head_dim * int64_t(dtype_size(p.dtype))) % 16 == 0;
}

SplitPlan decode_plan_for(const AttentionProblem& p, int num_sms) {
  SplitPlan plan;
  const int64_t blocks = int64_t(p.batch) * p.kv_heads;
  const int key_tiles = (p.max_kv_len + kTile - 1) / kTile;
  int splits = int(std::max<int64_t>(1, (2LL * num_sms + blocks - 1) / blocks));
  splits = std::min(splits, std::max(1, key_tiles / (2 * kDecodeWarps)));  // >= 2 tiles per warp
  splits = std::min(splits, 64);
  const int tiles_per_split = (key_tiles + splits - 1) / splits;
  plan.keys_per_split = tiles_per_split * kTile;
  plan.splits = (p.max_kv_len + plan.keys_per_split - 1) / plan.keys_per_split;
  if (plan.splits < 1) plan.splits = 1;
  return plan;
}

template <typename T>
__device__ __forceinline__ void unpack16(const uint4& raw, float* out);
template <>
__device__ __forceinline__ void unpack16<__nv_bfloat16>(const uint4& raw, float* out) {
  const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = __bfloat1622float2(h[i]);
    out[2 * i] = f.x;
    out[2 * i + 1] = f.y;
  }
}
template <>
__device__ __forceinline__ void unpack16<float>(const uint4& raw, float* out) {
  const float* f = reinterpret_cast<const float*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) out[i] = f[i];
}

template <typename T, int kGroup, int kHd>
__global__ void __launch_bounds__(kDecodeWarps * 32)
decode_attention_kernel(AttentionProblem p, SplitPlan plan, float* partial) {
  constexpr int kVec = 16 / sizeof(T);   // elements per 16-byte load
  constexpr int kDims = kHd / 32;        // output dims per lane
  __shared__ float q_s[kGroup][kHd];
  __shared__ float merge_m[kDecodeWarps][kGroup], merge_l[kDecodeWarps][kGroup];
  __shared__ float merge_acc[kDecodeWarps][kGroup][kHd];

  const int b = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int kv_len = p.kv_len[b];
  const int64_t q_row = p.q_start[b];
  if (p.q_len[b] < 1) return;
  const int key_begin = split * plan.keys_per_split;
  const int key_end = min(kv_len, key_begin + plan.keys_per_split);
  const T* q = static_cast<const T*>(p.q);
  const T* k = static_cast<const T*>(p.k);
  const T* v = static_cast<const T*>(p.v);
  const int64_t kv_stride = int64_t(p.kv_heads) * kHd;
  const float qk_scale = p.scale * kLog2e;
  for (int i = threadIdx.x; i < kGroup * kHd; i += blockDim.x) {
    const int g = i / kHd, d = i % kHd;
    q_s[g][d] = load_f(q, (q_row * p.heads + int64_t(kvh) * kGroup + g) * kHd + d) * qk_scale;
  }
  __syncthreads();

  float m[kGroup], l[kGroup], acc[kGroup][kDims];
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
    m[g] = -FLT_MAX;
    l[g] = 0.0f;
#pragma unroll
    for (int i = 0; i < kDims; ++i) acc[g][i] = 0.0f;
  }
  const int32_t* slots = p.kv_slots + int64_t(b) * p.slots_stride;
  for (int t0 = key_begin + warp * kTile; t0 < key_end; t0 += kDecodeWarps * kTile) {
    const int valid = min(kTile, key_end - t0);
    const bool mine = lane < valid;
    const int64_t slot = mine ? int64_t(slots[t0 + lane]) : 0;
    float s[kGroup];
#pragma unroll
    for (int g = 0; g < kGroup; ++g) s[g] = 0.0f;
    if (mine) {
      const uint4* krow = reinterpret_cast<const uint4*>(k + slot * kv_stride + int64_t(kvh) * kHd);
#pragma unroll 4
      for (int c = 0; c < kHd / kVec; ++c) {
        const uint4 raw = __ldg(krow + c);
        float kf[kVec];
        unpack16<T>(raw, kf);
#pragma unroll
        for (int g = 0; g < kGroup; ++g)
#pragma unroll
          for (int e = 0; e < kVec; ++e) s[g] += q_s[g][c * kVec + e] * kf[e];
      }
    }
    float pr[kGroup];
#pragma unroll
    for (int g = 0; g < kGroup; ++g) {
      const float sg = mine ? s[g] : -FLT_MAX;
      const float m_new = fmaxf(m[g], warp_max(sg));
      const float corr = exp2f(m[g] - m_new);
      pr[g] = mine ? exp2f(sg - m_new) : 0.0f;
      l[g] = l[g] * corr + warp_sum(pr[g]);
#pragma unroll
      for (int i = 0; i < kDims; ++i) acc[g][i] *= corr;
      m[g] = m_new;
    }
    // V: the warp reads row j together; lane owns dims [lane * kDims, +kDims).
#pragma unroll 4
    for (int j = 0; j < valid; ++j) {
      const int64_t slot_j = __shfl_sync(0xffffffffu, slot, j);
      const T* vrow = v + slot_j * kv_stride + int64_t(kvh) * kHd + lane * kDims;
      float vf[kDims];
#pragma unroll
      for (int i = 0; i < kDims; ++i) vf[i] = load_f(vrow, i);
#pragma unroll
      for (int g = 0; g < kGroup; ++g) {
        const float w = __shfl_sync(0xffffffffu, pr[g], j);
#pragma unroll
        for (int i = 0; i < kDims; ++i) acc[g][i] += w * vf[i];
      }
    }
  }

  // Merge the warps' states.
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
    if (lane == 0) {
      merge_m[warp][g] = m[g];
      merge_l[warp][g] = l[g];
    }
#pragma unroll
    for (int i = 0; i < kDims; ++i) merge_acc[warp][g][lane * kDims + i] = acc[g][i];
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < kGroup * kHd; idx += blockDim.x) {
    const int g = idx / kHd, d = idx % kHd;
    float mx = -FLT_MAX;
    for (int w = 0; w < kDecodeWarps; ++w)
      if (merge_l[w][g] > 0.0f) mx = fmaxf(mx, merge_m[w][g]);
    float lsum = 0.0f, a = 0.0f;
    for (int w = 0; w < kDecodeWarps; ++w) {
      if (merge_l[w][g] <= 0.0f) continue;
      const float f = exp2f(merge_m[w][g] - mx);
      lsum += merge_l[w][g] * f;
      a += merge_acc[w][g][d] * f;
    }
    const int head = kvh * kGroup + g;
    if (plan.splits == 1) {
      store_f(static_cast<T*>(p.out), (q_row * p.heads + head) * kHd + d, lsum > 0.0f ? a / lsum : 0.0f);
    } else {
      float* dst = partial + ((int64_t(split) * p.q_rows + q_row) * p.heads + head) * (kHd + 2);
      dst[d] = a;
      if (d == 0) {
        dst[kHd] = mx;
        dst[kHd + 1] = lsum;
      }
    }
  }
}

template <typename T, int kGroup, int kHd>
void launch_decode_typed(const AttentionProblem& p, const SplitPlan& plan, float* partial, cudaStream_t stream) {
  dim3 grid(unsigned(p.batch), unsigned(p.kv_heads), unsigned(plan.splits));
  decode_attention_kernel<T, kGroup, kHd><<<grid, kDecodeWarps * 32, 0, stream>>>(p, plan, partial);
  LOUPE_CUDA_CHECK_LAUNCH();
  if (plan.splits > 1) {
    const int64_t items = p.q_rows * p.heads;
    combine_kernel<T><<<unsigned((items + 7) / 8), 256, 0, stream>>>(p, plan, partial);
    LOUPE_CUDA_CHECK_LAUNCH();
  }
}

template <typename T, int kHd>
void launch_decode_group(const AttentionProblem& p, const SplitPlan& plan, float* partial, cudaStream_t stream) {
  switch (p.heads / p.kv_heads) {
    case 1: launch_decode_typed<T, 1, kHd>(p, plan, partial, stream); break;
    case 2: launch_decode_typed<T, 2, kHd>(p, plan, partial, stream); break;
    case 4: launch_decode_typed<T, 4, kHd>(p, plan, partial, stream); break;
    default: launch_decode_typed<T, 8, kHd>(p, plan, partial, stream); break;
  }
}

}  // namespace

size_t attention_workspace_floats(const AttentionProblem& p, int num_sms) {
  // The tensor-core path (bf16, q tiles of >= 16 rows) never splits; asking for a
  // workspace it does not use costs only a pool block.
  const SplitPlan plan = decode_kernel_fits(p) ? decode_plan_for(p, num_sms) : plan_for(p, num_sms);
  if (plan.splits <= 1) return 0;
  return size_t(plan.splits) * size_t(p.q_rows) * size_t(p.heads) * size_t(p.head_dim + 2);
}

void launch_attention(const AttentionProblem& p, float* workspace, int num_sms, cudaStream_t stream) {
  if (p.batch == 0 || p.q_rows == 0 || p.max_q_len == 0) return;
  LOUPE_CHECK(p.head_dim > 0 && p.head_dim <= 256, InvalidArgument, "CUDA attention supports head_dim <= 256, got ", p.head_dim);
  if (decode_kernel_fits(p)) {
    const SplitPlan plan = decode_plan_for(p, num_sms);
    LOUPE_DISPATCH_FLOAT(p.dtype, T, {
      if (p.head_dim == 64) launch_decode_group<T, 64>(p, plan, workspace, stream);
      else launch_decode_group<T, 128>(p, plan, workspace, stream);
    });
    return;
  }
  if (p.fast_paths && launch_attention_mma(p, stream)) return;
  const SplitPlan plan = plan_for(p, num_sms);
  const int dims_per_lane = (p.head_dim + 31) / 32;
  LOUPE_DISPATCH_FLOAT(p.dtype, T, {
    switch (dims_per_lane) {
      case 1: launch_typed<T, 1>(p, plan, workspace, stream); break;
      case 2: launch_typed<T, 2>(p, plan, workspace, stream); break;
      case 3: launch_typed<T, 3>(p, plan, workspace, stream); break;
      case 4: launch_typed<T, 4>(p, plan, workspace, stream); break;
      case 5: launch_typed<T, 5>(p, plan, workspace, stream); break;
      case 6: launch_typed<T, 6>(p, plan, workspace, stream); break;
      case 7: launch_typed<T, 7>(p, plan, workspace, stream); break;
      default: launch_typed<T, 8>(p, plan, workspace, stream); break;
    }
  });
}

}  // namespace loupe::cuda
