#pragma once
// Device helpers shared by the kernels: dtype-generic loads/stores (activations are
// bf16 or fp32; arithmetic is always fp32) and warp/block reductions.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace loupe::cuda {

__device__ __forceinline__ float load_f(const float* p, long i) { return p[i]; }
__device__ __forceinline__ float load_f(const __nv_bfloat16* p, long i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void store_f(float* p, long i, float v) { p[i] = v; }
__device__ __forceinline__ void store_f(__nv_bfloat16* p, long i, float v) { p[i] = __float2bfloat16_rn(v); }

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the block; every thread gets the result. scratch holds >= 32 floats.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read from a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  v = lane < warps ? scratch[lane] : 0.0f;
  return warp_sum(v);
}

}  // namespace loupe::cuda

#include "core/dtype.h"
#include "core/error.h"

// Runs the body with T bound to the C++ type of a float dtype (bf16 or fp32).
#define LOUPE_DISPATCH_FLOAT(dtype, T, ...)                                                   \
  switch (dtype) {                                                                            \
    case ::loupe::DType::BF16: { using T = __nv_bfloat16; __VA_ARGS__; break; }               \
    case ::loupe::DType::F32: { using T = float; __VA_ARGS__; break; }                        \
    default: LOUPE_FAIL(InvalidArgument, "CUDA backend: unsupported dtype ", ::loupe::dtype_name(dtype)); \
  }

namespace loupe::cuda {
inline unsigned blocks_for(int64_t n, int threads, int64_t cap = 65535LL * 32) {
  int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > cap ? cap : b));
}
}  // namespace loupe::cuda
