// Elementwise kernels (add, GELU, SwiGLU, bias), rotate-half RoPE, dtype conversion and a
// plain tiled GEMM used only when cuBLASLt offers no algorithm for a shape.
#include "backend/cuda/device_math.cuh"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"

namespace loupe::cuda {
namespace {

constexpr int kThreads = 256;

#define LOUPE_GRID_STRIDE(i, n) \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

template <typename T>
__global__ void add_kernel(T* y, const T* a, const T* b, int64_t n) {
  LOUPE_GRID_STRIDE(i, n) store_f(y, i, load_f(a, i) + load_f(b, i));
}

template <typename T>
__global__ void activation_kernel(T* y, const T* x, Activation fn, int64_t n) {
  LOUPE_GRID_STRIDE(i, n) {
    const float v = load_f(x, i);
    float out;
    if (fn == Activation::GeluTanh) {
      const float inner = 0.7978845608028654f * (v + 0.044715f * v * v * v);
      out = 0.5f * v * (1.0f + tanhf(inner));
    } else {
      out = 0.5f * v * (1.0f + erff(v * 0.7071067811865476f));
    }
    store_f(y, i, out);
  }
}

template <typename T>
__global__ void silu_mul_kernel(T* y, const T* gate_up, int64_t rows, int64_t f) {
  LOUPE_GRID_STRIDE(i, rows * f) {
    const int64_t r = i / f, c = i % f;
    const float g = load_f(gate_up, r * 2 * f + c);
    const float u = load_f(gate_up, r * 2 * f + f + c);
    store_f(y, i, g / (1.0f + __expf(-g)) * u);
  }
}

template <typename T, typename B>
__global__ void add_bias_kernel(T* y, const B* bias, int64_t rows, int64_t cols) {
  LOUPE_GRID_STRIDE(i, rows * cols) store_f(y, i, load_f(y, i) + load_f(bias, i % cols));
}

// One thread per (token, head, k < hd/2): rotates the pair (k, k + hd/2).
template <typename T>
__global__ void rope_kernel(T* x, const float* cos, const float* sin, int64_t n, int64_t heads, int64_t hd) {
  const int64_t half = hd / 2;
  LOUPE_GRID_STRIDE(i, n * heads * half) {
    const int64_t k = i % half, token = i / (half * heads);
    const int64_t base = (i / half) * hd;
    const float c = cos[token * half + k], s = sin[token * half + k];
    const float x1 = load_f(x, base + k), x2 = load_f(x, base + k + half);
    store_f(x, base + k, x1 * c - x2 * s);
    store_f(x, base + k + half, x2 * c + x1 * s);
  }
}

template <typename T>
__global__ void to_f32_kernel(float* y, const T* x, int64_t n) {
  LOUPE_GRID_STRIDE(i, n) y[i] = load_f(x, i);
}

template <typename T>
__global__ void from_f32_kernel(T* y, const float* x, int64_t n) {
  LOUPE_GRID_STRIDE(i, n) store_f(y, i, x[i]);
}

// 16x16 output tile per block, K staged through shared memory; fp32 accumulation.
template <typename T, typename B>
__global__ void linear_fallback_kernel(T* y, const T* x, const T* w, const B* bias, int64_t m, int64_t n,
                                       int64_t k) {
  __shared__ float xs[16][17], ws[16][17];
  const int64_t row = int64_t(blockIdx.y) * 16 + threadIdx.y;
  const int64_t col = int64_t(blockIdx.x) * 16 + threadIdx.x;
  const int64_t wrow = int64_t(blockIdx.x) * 16 + threadIdx.y;
  float acc = 0.0f;
  for (int64_t k0 = 0; k0 < k; k0 += 16) {
    const int64_t kk = k0 + threadIdx.x;
    xs[threadIdx.y][threadIdx.x] = row < m && kk < k ? load_f(x, row * k + kk) : 0.0f;
    ws[threadIdx.y][threadIdx.x] = wrow < n && kk < k ? load_f(w, wrow * k + kk) : 0.0f;
    __syncthreads();
#pragma unroll
    for (int j = 0; j < 16; ++j) acc += xs[threadIdx.y][j] * ws[threadIdx.x][j];
    __syncthreads();
  }
  if (row < m && col < n) store_f(y, row * n + col, acc + (bias ? load_f(bias, col) : 0.0f));
}

}  // namespace

void launch_add(void* y, const void* a, const void* b, DType act, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  LOUPE_DISPATCH_FLOAT(act, T, add_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(
      static_cast<T*>(y), static_cast<const T*>(a), static_cast<const T*>(b), n));
  LOUPE_CUDA_CHECK_LAUNCH();
}

void launch_activation(void* y, const void* x, Activation fn, DType act, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  LOUPE_DISPATCH_FLOAT(act, T, activation_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(
      static_cast<T*>(y), static_cast<const T*>(x), fn, n));
  LOUPE_CUDA_CHECK_LAUNCH();
}

void launch_silu_mul(void* y, const void* gate_up, DType act, int64_t rows, int64_t f, cudaStream_t stream) {
  if (rows * f == 0) return;
  LOUPE_DISPATCH_FLOAT(act, T, silu_mul_kernel<T><<<blocks_for(rows * f, kThreads), kThreads, 0, stream>>>(
      static_cast<T*>(y), static_cast<const T*>(gate_up), rows, f));
  LOUPE_CUDA_CHECK_LAUNCH();
}

void launch_add_bias(void* y, const void* bias, DType act, DType btype, int64_t rows, int64_t cols,
                     cudaStream_t stream) {
  if (rows * cols == 0) return;
  LOUPE_DISPATCH_FLOAT(act, T, LOUPE_DISPATCH_FLOAT(btype, B,
    add_bias_kernel<T, B><<<blocks_for(rows * cols, kThreads), kThreads, 0, stream>>>(
        static_cast<T*>(y), static_cast<const B*>(bias), rows, cols)));
  LOUPE_CUDA_CHECK_LAUNCH();
}

void launch_rope(void* x, const float* cos, const float* sin, DType act, int64_t n, int64_t heads,
                 int64_t hd, cudaStream_t stream) {
  const int64_t total = n * heads * (hd / 2);
  if (total == 0) return;
  LOUPE_DISPATCH_FLOAT(act, T, rope_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, stream>>>(
      static_cast<T*>(x), cos, sin, n, heads, hd));
  LOUPE_CUDA_CHECK_LAUNCH();
}

void launch_to_f32(float* y, const void* x, DType dtype, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  LOUPE_DISPATCH_FLOAT(dtype, T, to_f32_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(
      y, static_cast<const T*>(x), n));
  LOUPE_CUDA_CHECK_LAUNCH();
}

void launch_from_f32(void* y, const float* x, DType dtype, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  LOUPE_DISPATCH_FLOAT(dtype, T, from_f32_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, stream>>>(
      static_cast<T*>(y), x, n));
  LOUPE_CUDA_CHECK_LAUNCH();
}

void launch_linear_fallback(void* y, const void* x, const void* w, const void* bias, DType act,
                            DType btype, int64_t m, int64_t n, int64_t k, cudaStream_t stream) {
  if (m * n == 0) return;
  dim3 grid(unsigned((n + 15) / 16), unsigned((m + 15) / 16)), block(16, 16);
  LOUPE_DISPATCH_FLOAT(act, T, LOUPE_DISPATCH_FLOAT(btype, B,
    linear_fallback_kernel<T, B><<<grid, block, 0, stream>>>(
        static_cast<T*>(y), static_cast<const T*>(x), static_cast<const T*>(w),
        static_cast<const B*>(bias), m, n, k)));
  LOUPE_CUDA_CHECK_LAUNCH();
}

}  // namespace loupe::cuda
