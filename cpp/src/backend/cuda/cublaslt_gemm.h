#pragma once
// y[M, N] = x[M, K] · w[N, K]ᵀ (+ bias[N]) through cuBLASLt: bf16 (or fp32) operands,
// fp32 accumulation, bias fused as an epilogue. The heuristic's algorithm choice is
// cached per shape, dtype and pointer alignment, so a decode step makes no heuristic
// queries after the first.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <tuple>

#include "core/dtype.h"

namespace loupe::cuda {

class CublasLtGemm {
 public:
  CublasLtGemm(cudaStream_t stream, void* workspace, size_t workspace_bytes);
  ~CublasLtGemm();
  CublasLtGemm(const CublasLtGemm&) = delete;
  CublasLtGemm& operator=(const CublasLtGemm&) = delete;

  // Returns false when cuBLASLt has no algorithm for this problem (the caller then
  // falls back to its own kernel); throws on a real cuBLAS failure.
  bool linear(void* y, const void* x, const void* w, const void* bias, DType dtype,
              int64_t m, int64_t n, int64_t k);

 private:
  struct Plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool found = false;
  };
  // m, n, k, dtype, has bias, min pointer alignment
  using Key = std::tuple<int64_t, int64_t, int64_t, int, bool, int>;
  Plan& plan_for(const Key& key);

  cublasLtHandle_t handle_ = nullptr;
  cudaStream_t stream_;
  void* workspace_;
  size_t workspace_bytes_;
  std::mutex mutex_;
  std::map<Key, Plan> plans_;
};

}  // namespace loupe::cuda
