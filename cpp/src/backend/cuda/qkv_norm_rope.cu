// Text attention head preparation in one pass: each warp takes one head row of the fused
// qkv projection, RMS-normalises it (q and k heads), rotates it (rotate-half RoPE with
// the token's interleaved-M-RoPE cos/sin row) and writes it to its contiguous q/k/v
// tensor. Replaces three gathers (with their index uploads), two norms and two ropes.
// Rounding follows the unfused ops (and HF): the normalised value and the weighted norm
// output are rounded to the activation dtype before the rotation.
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/kernels.h"

namespace loupe::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

template <typename T>
__device__ __forceinline__ float round_act(float v) {
  T t;
  store_f(&t, 0, v);
  return load_f(&t, 0);
}

template <typename T, typename W>
__global__ void qkv_norm_rope_kernel(T* q, T* k, T* v, const T* qkv, const W* q_norm, const W* k_norm,
                                     const float* cos, const float* sin, int64_t n, int heads, int kv_heads,
                                     int hd, float eps) {
  const int per_token = heads + 2 * kv_heads;
  const int64_t row = int64_t(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  if (row >= n * per_token) return;
  const int lane = threadIdx.x & 31;
  const int64_t token = row / per_token;
  const int head = int(row % per_token);
  const T* src = qkv + row * hd;  // rows of qkv are [token][head] with width hd
  if (head >= heads + kv_heads) {  // v: a plain copy
    T* dst = v + (token * kv_heads + (head - heads - kv_heads)) * hd;
    for (int d = lane; d < hd; d += 32) dst[d] = src[d];
    return;
  }
  const bool is_q = head < heads;
  const W* w = is_q ? q_norm : k_norm;
  T* dst = is_q ? q + (token * heads + head) * int64_t(hd) : k + (token * kv_heads + (head - heads)) * int64_t(hd);
  float ss = 0.0f;
  for (int d = lane; d < hd; d += 32) {
    const float x = load_f(src, d);
    ss += x * x;
  }
  const float inv = rsqrtf(warp_sum(ss) / float(hd) + eps);
  const int half = hd / 2;
  const float* c_row = cos + token * half;
  const float* s_row = sin + token * half;
  for (int i = lane; i < half; i += 32) {
    const float x1 = round_act<T>(load_f(w, i) * round_act<T>(load_f(src, i) * inv));
    const float x2 = round_act<T>(load_f(w, i + half) * round_act<T>(load_f(src, i + half) * inv));
    const float c = c_row[i], s = s_row[i];
    store_f(dst, i, x1 * c - x2 * s);
    store_f(dst, i + half, x2 * c + x1 * s);
  }
}

}  // namespace

void launch_qkv_norm_rope(void* q, void* k, void* v, const void* qkv, const void* q_norm, const void* k_norm,
                          const float* cos, const float* sin, DType act, DType wtype, int64_t n, int heads,
                          int kv_heads, int hd, float eps, cudaStream_t stream) {
  const int64_t rows = n * (heads + 2 * kv_heads);
  if (rows == 0) return;
  const unsigned blocks = unsigned((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  LOUPE_DISPATCH_FLOAT(act, T, LOUPE_DISPATCH_FLOAT(wtype, W,
    qkv_norm_rope_kernel<T, W><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(
        static_cast<T*>(q), static_cast<T*>(k), static_cast<T*>(v), static_cast<const T*>(qkv),
        static_cast<const W*>(q_norm), static_cast<const W*>(k_norm), cos, sin, n, heads, kv_heads, hd, eps)));
  LOUPE_CUDA_CHECK_LAUNCH();
}

}  // namespace loupe::cuda
