#pragma once
// Launchers of the CUDA backend's kernels. Host code (cuda_backend.cpp) validates shapes
// and dtypes; these only dispatch on dtype and launch on the given stream. Activations
// are BF16 or F32; arithmetic is fp32.
#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"

namespace loupe::cuda {

// ---- norms (norms.cu) ---------------------------------------------------------------
void launch_rms_norm(void* y, const void* x, const void* weight, DType act, DType wtype,
                     int64_t rows, int64_t cols, float eps, cudaStream_t stream);
void launch_layer_norm(void* y, const void* x, const void* weight, const void* bias, DType act,
                       DType wtype, int64_t rows, int64_t cols, float eps, cudaStream_t stream);

// ---- elementwise (elementwise.cu) ---------------------------------------------------
enum class Activation { GeluTanh, GeluErf };
void launch_add(void* y, const void* a, const void* b, DType act, int64_t n, cudaStream_t stream);
void launch_activation(void* y, const void* x, Activation fn, DType act, int64_t n, cudaStream_t stream);
void launch_silu_mul(void* y, const void* gate_up, DType act, int64_t rows, int64_t f, cudaStream_t stream);
// y[r, c] += bias[c]; used when cuBLASLt's bias epilogue cannot take the bias dtype.
void launch_add_bias(void* y, const void* bias, DType act, DType btype, int64_t rows, int64_t cols,
                     cudaStream_t stream);
void launch_rope(void* x, const float* cos, const float* sin, DType act, int64_t n, int64_t heads,
                 int64_t hd, cudaStream_t stream);
// Any float dtype to fp32, and fp32 to any float dtype.
void launch_to_f32(float* y, const void* x, DType dtype, int64_t n, cudaStream_t stream);
void launch_from_f32(void* y, const float* x, DType dtype, int64_t n, cudaStream_t stream);
// Fallback GEMM (y = x·wᵀ + bias) for shapes cuBLASLt has no algorithm for.
void launch_linear_fallback(void* y, const void* x, const void* w, const void* bias, DType act,
                            DType btype, int64_t m, int64_t n, int64_t k, cudaStream_t stream);

// q/k/v heads out of the fused projection, with QK RMSNorm and RoPE (qkv_norm_rope.cu).
// qkv [n, (heads + 2·kv_heads)·hd]; q [n, heads, hd], k and v [n, kv_heads, hd];
// q_norm / k_norm [hd] of wtype; cos, sin [n, hd/2].
void launch_qkv_norm_rope(void* q, void* k, void* v, const void* qkv, const void* q_norm, const void* k_norm,
                          const float* cos, const float* sin, DType act, DType wtype, int64_t n, int heads,
                          int kv_heads, int hd, float eps, cudaStream_t stream);

// ---- sampling (sampling.cu) ---------------------------------------------------------
// One row's parameters as the kernels read them (uploaded by CudaBackend::sample).
struct SampleRowParams {
  double uniform;         // the row's draw in [0, 1)
  float inv_temperature;  // 1 / temperature, as the host computes it (unused when greedy)
  int32_t top_k;
  float top_p;
  float min_p;
  float repetition;
  float presence;
  float frequency;
  int32_t penalty_begin;
  int32_t penalty_end;
  int32_t mask_begin;  // first word of the row's allowed-token bits in SampleLaunch::masks; -1: none
};
struct SampleLaunch {
  const void* logits = nullptr;  // [rows, vocab] of dtype
  DType dtype = DType::BF16;
  int rows = 0, vocab = 0;
  const SampleRowParams* params = nullptr;  // [rows]
  const int32_t* penalty_ids = nullptr;
  const int32_t* penalty_counts = nullptr;
  const uint32_t* masks = nullptr;           // allowed-token bits of the masked rows
  int num_sampled = 0;                       // rows that draw (the others are greedy)
  const int32_t* sample_rows = nullptr;      // [num_sampled]
  const int32_t* segment_offsets = nullptr;  // [num_sampled + 1]: s · vocab
  float* work = nullptr;                     // [rows, vocab]
  unsigned long long* keys_in = nullptr;     // [num_sampled, vocab]
  unsigned long long* keys_out = nullptr;    // [num_sampled, vocab]
  void* sort_temp = nullptr;
  size_t sort_temp_bytes = 0;                // sample_sort_temp_bytes(num_sampled, vocab)
  int32_t* out_ids = nullptr;                // [rows]; -1 where a sampled row has no finite logit
};
size_t sample_sort_temp_bytes(int num_sampled, int vocab);
void launch_sample(const SampleLaunch& s, cudaStream_t stream);

// ---- gathers and scatters (gather.cu) -----------------------------------------------
void launch_embedding(void* y, const void* table, const int32_t* ids, DType act, DType ttype,
                      int64_t n, int64_t cols, cudaStream_t stream);
// dst[rows[i]] = src[i] (byte copy of row_bytes per row).
void launch_scatter_rows(void* dst, const int32_t* rows, const void* src, int64_t n, int64_t row_bytes,
                         cudaStream_t stream);
// dst[rows[i]] += src[i].
void launch_scatter_add_rows(void* dst, const int32_t* rows, const void* src, DType act, int64_t n,
                             int64_t cols, cudaStream_t stream);
// dst[i] = src[rows[i]].
void launch_gather_rows(void* dst, const void* src, const int32_t* rows, int64_t n, int64_t row_bytes,
                        cudaStream_t stream);

// ---- attention (attention.cu) -------------------------------------------------------
// One problem shape for both attentions. Sequence b has q rows [q_start[b], +q_len[b])
// and kv_len[b] keys; key j of b lives at row kv_slots[b * slots_stride + j] of k/v
// (paged pool) or, when kv_slots is null, at row kv_start[b] + j (contiguous segments).
// Causal: query i of b sees keys j <= kv_len[b] - q_len[b] + i.
struct AttentionProblem {
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* out = nullptr;
  DType dtype = DType::BF16;
  int heads = 0, kv_heads = 0, head_dim = 0;
  int64_t q_rows = 0;  // rows of q / out
  int batch = 0;
  const int32_t* q_start = nullptr;
  const int32_t* q_len = nullptr;
  const int32_t* kv_len = nullptr;
  const int32_t* kv_start = nullptr;
  const int32_t* kv_slots = nullptr;
  int64_t slots_stride = 0;
  bool causal = false;
  float scale = 1.0f;
  int max_q_len = 0;
  int max_kv_len = 0;
  // Use the decode kernel and the tensor-core prefill kernel where they fit; otherwise
  // every problem takes the scalar flash kernel (the one verified on hardware so far).
  bool fast_paths = false;
};
// Workspace floats the launch needs for its split-K partials (0: no split).
size_t attention_workspace_floats(const AttentionProblem& p, int num_sms);
void launch_attention(const AttentionProblem& p, float* workspace, int num_sms, cudaStream_t stream);
// Tensor-core path (attention_mma.cu) for bf16 prefill/segments with head_dim 64 or 128;
// returns false, launching nothing, when the problem does not fit it.
bool launch_attention_mma(const AttentionProblem& p, cudaStream_t stream);

}  // namespace loupe::cuda
