#pragma once
// CPU backend: fp32 activations; weights fp32 or bf16 (as stored) or int8 (opt-in, see
// backend/int8_weights.h). fp32 GEMM through OpenBLAS; bf16 GEMM through an AVX512_BF16
// kernel on the weights as stored (cpu_gemm_bf16.h: exact or bf16-rounded activations), int8
// GEMM through an AVX512_VNNI kernel (cpu_gemm_int8.h). Attention: online softmax over key
// blocks, blocked on AVX-512 for many queries (cpu_flash_attention.h) and per GQA group for
// decode (cpu_decode_attention.h), so no [T, T] score matrix is ever materialised.
// Everything else: parallel loops on a small spin-then-sleep thread pool.
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/cpu_gemm_bf16.h"
#include "backend/cpu/cpu_gemm_int8.h"
#include "backend/cpu/host_block_cache.h"
#include "backend/cpu/thread_pool.h"

namespace loupe {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads);

  std::string name() const override { return "cpu"; }
  Device device() const override { return Device{}; }
  DType activation_dtype() const override { return DType::F32; }
  int threads() const { return threads_; }
  cpu::ThreadPool& pool() { return *pool_; }
  // Tests and benchmarks: run the portable bf16 and int8 linear paths even where the CPU has
  // vdpbf16ps and vpdpwssd, so both paths are checked on one machine.
  void set_portable_kernels(bool portable) {
    use_avx512_bf16_ = !portable && cpu::has_avx512_bf16();
    use_avx512_vnni_ = !portable && cpu::has_avx512_vnni();
  }
  // How activations enter linears with bf16 weights (cpu_gemm_bf16.h). Default Rounded:
  // PyTorch's semantics for a bf16 checkpoint (HF loads it as bf16 and computes in bf16) and
  // 1.5x faster captioning than Exact, which computes what an fp32-upcast model would and is
  // what the fp32 golden parity tests pin. fp32 weights are unaffected.
  // EngineOptions::cpu_bf16_activations sets it (set_cpu_bf16_activations).
  void set_bf16_activations(cpu::Bf16Activations mode) { bf16_activations_ = mode; }
  cpu::Bf16Activations bf16_activations() const { return bf16_activations_; }

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr) override;
  void copy_from_host(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void fill_zero(Tensor t) override;
  void synchronize() override {}
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

  void to_host_f32(float* dst, Tensor src) override;

 private:
  void linear_int8(float* y, const float* x, const Tensor& w, int64_t m, int64_t n, int64_t k);

  int threads_;
  std::unique_ptr<cpu::ThreadPool> pool_;
  cpu::HostBlockCache blocks_{size_t(256) << 20};  // activation buffers reused across steps
  bool use_avx512_bf16_ = cpu::has_avx512_bf16();
  bool use_avx512_vnni_ = cpu::has_avx512_vnni();
  cpu::Bf16Activations bf16_activations_ = cpu::Bf16Activations::Rounded;  // PyTorch's bf16 semantics
  std::vector<uint16_t> bf16_scratch_;  // bf16 activations of the current linear
  std::vector<float> f32_scratch_;      // the same, held in fp32, where vdpbf16ps is missing
  cpu::Int16Activations int16_scratch_;  // quantised activations of the current int8 linear
};

// "rounded" or "exact" as the mode; anything else is an InvalidArgument naming `what`.
cpu::Bf16Activations parse_bf16_activations(const std::string& text, const char* what);

// True when `backend` is a CpuBackend whose bf16-weight linears round their inputs to bf16
// (its default): what a test compares such a linear or model against depends on it.
bool rounds_bf16_linear_inputs(const Backend& backend);

}  // namespace loupe
