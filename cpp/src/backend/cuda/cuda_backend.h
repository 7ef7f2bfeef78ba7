#pragma once
// The CUDA implementation of loupe::Backend: bf16 activations, fp32 accumulation,
// cuBLASLt GEMMs, one stream per backend, device memory from a caching pool.
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/cuda/cublaslt_gemm.h"
#include "backend/cuda/memory_pool.h"

namespace loupe::cuda {

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device_index, bool fast_attention);
  ~CudaBackend() override;

  std::string name() const override { return name_; }
  Device device() const override { return Device{DeviceKind::CUDA, device_}; }
  DType activation_dtype() const override { return DType::BF16; }

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr) override;
  void copy_from_host(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void fill_zero(Tensor t) override;
  void synchronize() override;
  size_t free_memory() const override;

  void linear(Tensor y, Tensor x, Tensor w, const Tensor* bias) override;
  void rms_norm(Tensor y, Tensor x, Tensor weight, float eps) override;
  void layer_norm(Tensor y, Tensor x, Tensor weight, Tensor bias, float eps) override;

  void add(Tensor y, Tensor a, Tensor b) override;
  void gelu_tanh(Tensor y, Tensor x) override;
  void gelu_erf(Tensor y, Tensor x) override;
  void silu_mul(Tensor y, Tensor gate_up) override;
  void rope(Tensor x, Tensor cos, Tensor sin) override;

  void embedding(Tensor y, Tensor table, Tensor ids) override;
  void scatter_rows(Tensor dst, Tensor rows, Tensor src, bool accumulate) override;
  void gather_rows(Tensor dst, Tensor src, Tensor rows) override;

  void attention_segments(Tensor out, Tensor q, Tensor k, Tensor v, const std::vector<int32_t>& cu_seqlens,
                          float scale) override;
  void kv_store(Tensor k_cache, Tensor v_cache, Tensor k, Tensor v, Tensor slots) override;
  void attention_paged(Tensor out, Tensor q, Tensor k_cache, Tensor v_cache,
                       const PagedAttentionParams& params) override;
  void qkv_norm_rope(Tensor q, Tensor k, Tensor v, Tensor qkv, Tensor q_norm, Tensor k_norm, float eps, Tensor cos,
                     Tensor sin) override;

  void to_host_f32(float* dst, Tensor src) override;
  void sample(int32_t* ids, Tensor logits, const SamplingBatch& batch) override;
  std::unique_ptr<StepGraph> capture(const std::function<void()>& ops) override;

  cudaStream_t stream() const { return stream_; }

 private:
  // Makes this backend's device current on the calling thread (engines may call from
  // a scheduler thread other than the creator's).
  void activate() const;
  // y = x·wᵀ (+ bias) with x, w, y of one dtype: cuBLASLt, else the fallback kernel.
  void linear_same_dtype(void* y, const void* x, const void* w, const Tensor* bias, DType dtype, int64_t m,
                         int64_t n, int64_t k);
  // Scratch device memory for one op; returned to the pool when the op has been queued.
  struct Scratch;

  int device_;
  std::string name_;
  int num_sms_ = 0;
  bool fast_attention_ = true;  // CudaAttention::Fast
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<MemoryPool> pool_;
  void* gemm_workspace_ = nullptr;
  std::unique_ptr<CublasLtGemm> gemm_;
};

}  // namespace loupe::cuda
