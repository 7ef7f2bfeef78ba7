// Token sampling on the device (Backend::sample), with the host sampler's semantics
// (backend/sampling.cpp is the reference):
//   1. penalise:  logits row -> fp32 work row (-inf where the row's constraint mask forbids
//                 the token), repetition then presence/frequency penalties
//   2. argmax:    every row's first maximum (the answer for greedy rows)
//   3. sampled rows only: keys = (scaled logit, id) packed so that one descending radix
//      sort (CUB, per row) yields the host's order: logit descending, ties by id ascending;
//      -inf and NaN go last and are not candidates
//   4. draw:      one block per sampled row walks the sorted candidates: top-k (with its
//      ties), softmax in double, top-p prefix, min-p, then the row's uniform picks the token.
#include <cub/device/device_segmented_radix_sort.cuh>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/kernels.h"

namespace loupe::cuda {
namespace {

constexpr int kDrawThreads = 1024;

// Monotone map of a float to uint32 (a < b  <=>  key(a) < key(b)); NaN and -inf map to 0,
// below every candidate.
__device__ __forceinline__ uint32_t order_key(float x) {
  if (isnan(x) || x == -INFINITY) return 0u;
  x += 0.0f;  // -0 -> +0: the host compares values, so the two zeros tie
  const uint32_t u = __float_as_uint(x);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float key_value(uint32_t k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

template <typename T>
__global__ void penalize_kernel(float* work, const T* logits, int vocab, const SampleRowParams* params,
                                const int32_t* penalty_ids, const int32_t* penalty_counts, const uint32_t* masks) {
  const int64_t base = int64_t(blockIdx.x) * vocab;
  const SampleRowParams p = params[blockIdx.x];
  const uint32_t* allowed = p.mask_begin >= 0 ? masks + p.mask_begin : nullptr;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    const bool forbidden = allowed && !((allowed[i >> 5] >> (i & 31)) & 1u);
    work[base + i] = forbidden ? -INFINITY : load_f(logits, base + i);
  }
  __syncthreads();
  // Ids within a row are distinct, so entries never race.
  for (int e = p.penalty_begin + threadIdx.x; e < p.penalty_end; e += blockDim.x) {
    float& x = work[base + penalty_ids[e]];
    float y = x;
    if (p.repetition != 1.0f) y = y < 0 ? y * p.repetition : y / p.repetition;
    const int count = penalty_counts[e];
    // Explicit roundings: no fused multiply-add, so the value equals the host's bit for bit.
    if (count > 0) y = __fsub_rn(y, __fadd_rn(p.presence, __fmul_rn(p.frequency, float(count))));
    x = y;
  }
}

// Larger value wins; equal values: the lower id. NaN never wins (the host's max_element
// would only pick one at index 0).
__device__ __forceinline__ void better(float& v, int& i, float v2, int i2) {
  if (i2 < 0) return;
  if (i < 0 || v2 > v || (v2 == v && i2 < i) || (isnan(v) && !isnan(v2))) {
    v = v2;
    i = i2;
  }
}

__global__ void argmax_kernel(int32_t* out, const float* work, int vocab) {
  __shared__ float sv[32];
  __shared__ int si[32];
  const float* row = work + int64_t(blockIdx.x) * vocab;
  float v = 0.0f;
  int idx = -1;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) better(v, idx, row[i], i);
  for (int o = 16; o > 0; o >>= 1) {
    const float v2 = __shfl_xor_sync(0xffffffffu, v, o);
    const int i2 = __shfl_xor_sync(0xffffffffu, idx, o);
    better(v, idx, v2, i2);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    sv[warp] = v;
    si[warp] = idx;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < int(blockDim.x + 31) / 32; ++w) better(v, idx, sv[w], si[w]);
    out[blockIdx.x] = idx < 0 ? 0 : idx;
  }
}

// keys[s, i] = key(work[row_s, i] / T) << id_bits | (id_mask - i): descending order of the
// packed key is value descending, then id ascending; every key is distinct.
__global__ void pack_keys_kernel(unsigned long long* keys, const float* work, int vocab, const int32_t* sample_rows,
                                 const SampleRowParams* params, int id_bits) {
  const int row = sample_rows[blockIdx.x];
  const float inv_t = params[row].inv_temperature;
  const unsigned long long id_mask = (1ull << id_bits) - 1;
  const float* src = work + int64_t(row) * vocab;
  unsigned long long* dst = keys + int64_t(blockIdx.x) * vocab;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x)
    dst[i] = (static_cast<unsigned long long>(order_key(src[i] * inv_t)) << id_bits) | (id_mask - i);
}

__device__ int block_min_i(int v, int* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  int m = scratch[0];
  for (int w = 1; w < int(blockDim.x + 31) / 32; ++w) m = min(m, scratch[w]);
  return m;
}

// Candidate i of a sorted row: its scaled logit, as a double.
__device__ __forceinline__ double sorted_value(const unsigned long long* keys, int i, int id_bits) {
  return double(key_value(uint32_t(keys[i] >> id_bits)));
}

// Each thread owns a contiguous chunk of [0, limit); on return prefix[t] is the sum of
// exp(value - top) over the chunks before thread t's, and the block total is returned.
__device__ double chunk_prefix(const unsigned long long* keys, int limit, int chunk, int id_bits, double top,
                               double* prefix, double* scratch) {
  const int begin = min(limit, int(threadIdx.x) * chunk), end = min(limit, begin + chunk);
  double local = 0;
  for (int i = begin; i < end; ++i) local += exp(sorted_value(keys, i, id_bits) - top);
  prefix[threadIdx.x] = local;
  __syncthreads();
  if (threadIdx.x == 0) {
    double run = 0;
    for (int t = 0; t < int(blockDim.x); ++t) {
      const double x = prefix[t];
      prefix[t] = run;
      run += x;
    }
    scratch[0] = run;
  }
  __syncthreads();
  const double total = scratch[0];
  __syncthreads();
  return total;
}

__global__ void draw_kernel(int32_t* out, const unsigned long long* sorted, int vocab, const int32_t* sample_rows,
                            const SampleRowParams* params, int id_bits) {
  __shared__ double prefix[kDrawThreads];
  __shared__ double dscratch[32];
  __shared__ int iscratch[32];
  const int row = sample_rows[blockIdx.x];
  const SampleRowParams p = params[row];
  const unsigned long long* keys = sorted + int64_t(blockIdx.x) * vocab;
  const unsigned long long id_mask = (1ull << id_bits) - 1;

  // Candidates: keys with a non-zero value part (the rest are -inf/NaN, sorted last).
  int valid = vocab;
  {
    int first_invalid = vocab;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x)
      if ((keys[i] >> id_bits) == 0) {
        first_invalid = i;
        break;
      }
    valid = block_min_i(first_invalid, iscratch);
  }
  if (valid == 0) {  // the host throws; the backend reports it (see CudaBackend::sample)
    if (threadIdx.x == 0) out[row] = -1;
    return;
  }
  int keep = valid;
  if (p.top_k > 0 && p.top_k < keep) {
    // Every candidate tied with the k-th value stays (HF): the first index past the ties.
    const uint32_t kth = uint32_t(keys[p.top_k - 1] >> id_bits);
    int end = keep;
    for (int i = p.top_k + threadIdx.x; i < keep; i += blockDim.x)
      if (uint32_t(keys[i] >> id_bits) != kth) {
        end = i;
        break;
      }
    keep = block_min_i(end, iscratch);
  }
  const double top = sorted_value(keys, 0, id_bits);
  int chunk = (keep + int(blockDim.x) - 1) / int(blockDim.x);
  const double total = chunk_prefix(keys, keep, chunk, id_bits, top, prefix, dscratch);

  // Cumulative probability of candidates [0, i] is (prefix + running) / total.
  auto first_crossing = [&](int limit, double threshold, bool inclusive_ge) {
    const int begin = min(limit, int(threadIdx.x) * chunk), end = min(limit, begin + chunk);
    double run = prefix[threadIdx.x];
    int found = limit;
    for (int i = begin; i < end; ++i) {
      run += exp(sorted_value(keys, i, id_bits) - top);
      const double cum = run / total;
      if (inclusive_ge ? cum >= threshold : cum > threshold) {
        found = i;
        break;
      }
    }
    return block_min_i(found, iscratch);
  };
  if (p.top_p < 1.0f) {
    // Smallest prefix whose mass reaches top_p (at least one token).
    const int i = first_crossing(keep, double(p.top_p), true);
    keep = max(1, min(keep, i + 1));
  }
  if (p.min_p > 0.0f) {
    const double floor = double(p.min_p) * (1.0 / total);  // the top candidate's probability is 1/total
    int below = keep;
    for (int i = threadIdx.x; i < keep; i += blockDim.x)
      if (exp(sorted_value(keys, i, id_bits) - top) / total < floor) {
        below = i;
        break;
      }
    keep = max(1, block_min_i(below, iscratch));
  }
  // The draw: the first candidate whose cumulative mass passes uniform · kept mass.
  chunk = (keep + int(blockDim.x) - 1) / int(blockDim.x);
  const double kept = chunk_prefix(keys, keep, chunk, id_bits, top, prefix, dscratch);
  const double target = p.uniform * (kept / total);
  const int chosen = min(first_crossing(keep, target, false), keep - 1);
  if (threadIdx.x == 0) out[row] = int32_t(id_mask - (keys[chosen] & id_mask));
}

}  // namespace

int sample_id_bits(int vocab) {
  int bits = 1;
  while ((1 << bits) < vocab) ++bits;
  return bits;
}

size_t sample_sort_temp_bytes(int num_sampled, int vocab) {
  if (num_sampled == 0) return 0;
  size_t bytes = 0;
  const int bits = sample_id_bits(vocab);
  LOUPE_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortKeysDescending(
      nullptr, bytes, static_cast<const unsigned long long*>(nullptr), static_cast<unsigned long long*>(nullptr),
      num_sampled * vocab, num_sampled, static_cast<const int32_t*>(nullptr), static_cast<const int32_t*>(nullptr),
      0, 32 + bits));
  return bytes;
}

void launch_sample(const SampleLaunch& s, cudaStream_t stream) {
  if (s.rows == 0) return;
  LOUPE_DISPATCH_FLOAT(s.dtype, T,
    penalize_kernel<T><<<unsigned(s.rows), 256, 0, stream>>>(s.work, static_cast<const T*>(s.logits), s.vocab,
                                                              s.params, s.penalty_ids, s.penalty_counts, s.masks));
  LOUPE_CUDA_CHECK_LAUNCH();
  argmax_kernel<<<unsigned(s.rows), 1024, 0, stream>>>(s.out_ids, s.work, s.vocab);
  LOUPE_CUDA_CHECK_LAUNCH();
  if (s.num_sampled == 0) return;
  const int bits = sample_id_bits(s.vocab);
  pack_keys_kernel<<<unsigned(s.num_sampled), 256, 0, stream>>>(s.keys_in, s.work, s.vocab, s.sample_rows, s.params,
                                                                bits);
  LOUPE_CUDA_CHECK_LAUNCH();
  size_t temp_bytes = s.sort_temp_bytes;
  LOUPE_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortKeysDescending(
      s.sort_temp, temp_bytes, s.keys_in, s.keys_out, s.num_sampled * s.vocab, s.num_sampled, s.segment_offsets,
      s.segment_offsets + 1, 0, 32 + bits, stream));
  draw_kernel<<<unsigned(s.num_sampled), kDrawThreads, 0, stream>>>(s.out_ids, s.keys_out, s.vocab, s.sample_rows,
                                                                    s.params, bits);
  LOUPE_CUDA_CHECK_LAUNCH();
}

}  // namespace loupe::cuda
