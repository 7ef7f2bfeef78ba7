// Row gathers and scatters: embedding lookup, KV-pool stores (scatter), deepstack and
// merge (scatter-add), and row selection (gather). Copies move 16-, 4- or 2-byte words
// depending on the row size and pointer alignment.
#include <cstdint>

#include "backend/cuda/device_math.cuh"
#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"

namespace loupe::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T, typename S>
__global__ void embedding_kernel(T* y, const S* table, const int32_t* ids, int64_t n, int64_t cols) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n * cols; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols, c = i % cols;
    store_f(y, i, load_f(table, int64_t(ids[r]) * cols + c));
  }
}

// Word-typed row copy. scatter: dst row = rows[i], src row = i; gather: the reverse.
template <typename Word, bool kScatter>
__global__ void copy_rows_kernel(Word* dst, const Word* src, const int32_t* rows, int64_t n, int64_t words) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n * words; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / words, c = i % words;
    if (kScatter) dst[int64_t(rows[r]) * words + c] = src[i];
    else dst[i] = src[int64_t(rows[r]) * words + c];
  }
}

template <typename T>
__global__ void scatter_add_kernel(T* dst, const int32_t* rows, const T* src, int64_t n, int64_t cols) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n * cols; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols, c = i % cols;
    const int64_t d = int64_t(rows[r]) * cols + c;
    store_f(dst, d, load_f(dst, d) + load_f(src, i));
  }
}

template <bool kScatter>
void copy_rows(void* dst, const void* src, const int32_t* rows, int64_t n, int64_t row_bytes, cudaStream_t stream) {
  if (n * row_bytes == 0) return;
  const auto bits = reinterpret_cast<uintptr_t>(dst) | reinterpret_cast<uintptr_t>(src) | uintptr_t(row_bytes);
  auto launch = [&](auto word) {
    using Word = decltype(word);
    const int64_t words = row_bytes / int64_t(sizeof(Word));
    copy_rows_kernel<Word, kScatter><<<blocks_for(n * words, kThreads), kThreads, 0, stream>>>(
        static_cast<Word*>(dst), static_cast<const Word*>(src), rows, n, words);
  };
  if (bits % 16 == 0) launch(uint4{});
  else if (bits % 4 == 0) launch(uint32_t{});
  else if (bits % 2 == 0) launch(uint16_t{});
  else launch(uint8_t{});
  LOUPE_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_embedding(void* y, const void* table, const int32_t* ids, DType act, DType ttype,
                      int64_t n, int64_t cols, cudaStream_t stream) {
  if (n * cols == 0) return;
  LOUPE_DISPATCH_FLOAT(act, T, LOUPE_DISPATCH_FLOAT(ttype, S,
    embedding_kernel<T, S><<<blocks_for(n * cols, kThreads), kThreads, 0, stream>>>(
        static_cast<T*>(y), static_cast<const S*>(table), ids, n, cols)));
  LOUPE_CUDA_CHECK_LAUNCH();
}

void launch_scatter_rows(void* dst, const int32_t* rows, const void* src, int64_t n, int64_t row_bytes,
                         cudaStream_t stream) {
  copy_rows<true>(dst, src, rows, n, row_bytes, stream);
}

void launch_gather_rows(void* dst, const void* src, const int32_t* rows, int64_t n, int64_t row_bytes,
                        cudaStream_t stream) {
  copy_rows<false>(dst, src, rows, n, row_bytes, stream);
}

void launch_scatter_add_rows(void* dst, const int32_t* rows, const void* src, DType act, int64_t n,
                             int64_t cols, cudaStream_t stream) {
  if (n * cols == 0) return;
  LOUPE_DISPATCH_FLOAT(act, T, scatter_add_kernel<T><<<blocks_for(n * cols, kThreads), kThreads, 0, stream>>>(
      static_cast<T*>(dst), rows, static_cast<const T*>(src), n, cols));
  LOUPE_CUDA_CHECK_LAUNCH();
}

}  // namespace loupe::cuda
