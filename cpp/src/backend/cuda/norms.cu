// RMSNorm and LayerNorm: one block per row, statistics in fp32 as HF computes them.
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"

namespace loupe::cuda {
namespace {

int threads_for(int64_t cols) {
  int t = 32;
  while (t < 1024 && t < cols) t <<= 1;
  return t > 256 && cols < 4096 ? 256 : t;
}

// HF (Qwen3RMSNorm): y = w * (x * rsqrt(mean(x²) + eps)).to(input dtype); the normalised
// value is rounded to the activation dtype before the weight multiply, as HF does.
template <typename T, typename W>
__global__ void rms_norm_kernel(T* y, const T* x, const W* w, int64_t cols, float eps) {
  __shared__ float scratch[32];
  const int64_t base = int64_t(blockIdx.x) * cols;
  float ss = 0.0f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    float v = load_f(x, base + c);
    ss += v * v;
  }
  const float inv = rsqrtf(block_sum(ss, scratch) / float(cols) + eps);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    T normed;
    store_f(&normed, 0, load_f(x, base + c) * inv);
    store_f(y, base + c, load_f(w, c) * load_f(&normed, 0));
  }
}

// nn.LayerNorm: mean and variance in fp32 (two-pass for accuracy), affine in fp32.
template <typename T, typename W>
__global__ void layer_norm_kernel(T* y, const T* x, const W* w, const W* b, int64_t cols, float eps) {
  __shared__ float scratch[32];
  const int64_t base = int64_t(blockIdx.x) * cols;
  float sum = 0.0f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) sum += load_f(x, base + c);
  const float mean = block_sum(sum, scratch) / float(cols);
  float sq = 0.0f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    float d = load_f(x, base + c) - mean;
    sq += d * d;
  }
  const float inv = rsqrtf(block_sum(sq, scratch) / float(cols) + eps);
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
    store_f(y, base + c, (load_f(x, base + c) - mean) * inv * load_f(w, c) + load_f(b, c));
}

}  // namespace

void launch_rms_norm(void* y, const void* x, const void* weight, DType act, DType wtype,
                     int64_t rows, int64_t cols, float eps, cudaStream_t stream) {
  if (rows == 0) return;
  LOUPE_DISPATCH_FLOAT(act, T, LOUPE_DISPATCH_FLOAT(wtype, W,
    rms_norm_kernel<T, W><<<unsigned(rows), threads_for(cols), 0, stream>>>(
        static_cast<T*>(y), static_cast<const T*>(x), static_cast<const W*>(weight), cols, eps)));
  LOUPE_CUDA_CHECK_LAUNCH();
}

void launch_layer_norm(void* y, const void* x, const void* weight, const void* bias, DType act,
                       DType wtype, int64_t rows, int64_t cols, float eps, cudaStream_t stream) {
  if (rows == 0) return;
  LOUPE_DISPATCH_FLOAT(act, T, LOUPE_DISPATCH_FLOAT(wtype, W,
    layer_norm_kernel<T, W><<<unsigned(rows), threads_for(cols), 0, stream>>>(
        static_cast<T*>(y), static_cast<const T*>(x), static_cast<const W*>(weight),
        static_cast<const W*>(bias), cols, eps)));
  LOUPE_CUDA_CHECK_LAUNCH();
}

}  // namespace loupe::cuda
