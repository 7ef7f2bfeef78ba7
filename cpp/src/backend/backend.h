#pragma once
// Backend: the ops the model needs, written once in the model code and implemented per
// device (CPU always, CUDA when built). Every tensor argument lives on the backend's
// device, is contiguous and row-major; "rows" means all dims but the last.
//
// Activations use activation_dtype() (F32 on CPU, BF16 on CUDA); weights may be F32,
// BF16 (and later quantised types) and are passed as stored. Ops are eager: a call may be
// asynchronous on a device stream, synchronize() waits for all of them.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace loupe {

// Attention over the token-level KV pool, for a batch of sequences whose new tokens are
// flattened into one q. Sequence b owns q rows [q_start[b], q_start[b] + q_len[b]) and
// attends causally to kv_len[b] cached tokens whose pool slots are
// kv_slots[b, 0 .. kv_len[b]); its new tokens are the last q_len[b] of them.
// Decode is the case q_len == 1. All index tensors are I32 on the backend's device.
// One row of a batched sample() call; the semantics are engine/sampler.h's (HF order:
// repetition penalty, presence/frequency penalties, temperature, top-k, top-p, min-p,
// draw). Greedy (temperature 0 or top_k 1) is the first maximum. The draw position
// `uniform` in [0, 1) comes from the request's own RNG on the host, so a seeded request
// samples the same tokens on every backend and in every batch.
struct SamplingRow {
  float temperature = 0.0f;
  int32_t top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  double uniform = 0.0;
  // Penalised tokens of this row: entries [penalty_begin, penalty_end) of the batch lists.
  int32_t penalty_begin = 0, penalty_end = 0;
  // Output constraint: the row's allowed tokens are the bits of batch.allowed[mask_begin, +
  // (vocab + 31) / 32) (bit t of word t / 32); the others become -inf first. -1: no mask.
  int32_t mask_begin = -1;
  bool greedy() const { return temperature == 0.0f || top_k == 1; }
};
struct SamplingBatch {
  std::vector<SamplingRow> rows;
  std::vector<int32_t> penalty_ids;     // distinct per row: the tokens seen so far
  std::vector<int32_t> penalty_counts;  // times each appears in the output (0: prompt only)
  std::vector<uint32_t> allowed;        // the masked rows' allowed-token bits
};

struct PagedAttentionParams {
  Tensor q_start;    // [B]
  Tensor q_len;      // [B]
  Tensor kv_len;     // [B]
  Tensor kv_slots;   // [B, kv_slots_stride]
  int batch = 0;
  int max_q_len = 0;
  int max_kv_len = 0;
  float scale = 1.0f;
};

// A recorded sequence of backend ops (a CUDA graph) replayed with the same pointers and
// shapes; inputs change by writing new values into the same buffers between replays.
class StepGraph {
 public:
  virtual ~StepGraph() = default;
  virtual void replay() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;
  virtual Device device() const = 0;
  virtual DType activation_dtype() const = 0;

  // ---- memory ----------------------------------------------------------------------
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* ptr) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void fill_zero(Tensor t) = 0;
  virtual void synchronize() = 0;
  // Bytes of device memory still free (CPU: available physical memory).
  virtual size_t free_memory() const = 0;

  // ---- dense math ------------------------------------------------------------------
  // y[M, N] = x[M, K] · w[N, K]ᵀ (+ bias[N]); w is stored PyTorch-style [out, in].
  virtual void linear(Tensor y, Tensor x, Tensor w, const Tensor* bias) = 0;
  // Per row over the last dim. HF semantics: statistics in fp32.
  virtual void rms_norm(Tensor y, Tensor x, Tensor weight, float eps) = 0;
  virtual void layer_norm(Tensor y, Tensor x, Tensor weight, Tensor bias, float eps) = 0;

  // ---- elementwise (y may alias an input) -------------------------------------------
  virtual void add(Tensor y, Tensor a, Tensor b) = 0;
  virtual void gelu_tanh(Tensor y, Tensor x) = 0;
  virtual void gelu_erf(Tensor y, Tensor x) = 0;
  // y[M, F] = silu(gate_up[:, :F]) * gate_up[:, F:], gate_up [M, 2F].
  virtual void silu_mul(Tensor y, Tensor gate_up) = 0;
  // Rotate-half RoPE in place: x [n, heads, hd]; cos, sin [n, hd/2] F32, shared by heads.
  // out[k] = x[k]·c[k] − x[k+hd/2]·s[k],  out[k+hd/2] = x[k+hd/2]·c[k] + x[k]·s[k].
  virtual void rope(Tensor x, Tensor cos, Tensor sin) = 0;

  // ---- gathers and scatters ---------------------------------------------------------
  // y[i, :] = table[ids[i], :]; ids I32, every id must be < table rows (checked by caller).
  virtual void embedding(Tensor y, Tensor table, Tensor ids) = 0;
  // dst[rows[i], :] = src[i, :] (or += when accumulate); rows I32.
  virtual void scatter_rows(Tensor dst, Tensor rows, Tensor src, bool accumulate) = 0;
  // dst[i, :] = src[rows[i], :]; rows I32.
  virtual void gather_rows(Tensor dst, Tensor src, Tensor rows) = 0;

  // ---- attention --------------------------------------------------------------------
  // Bidirectional attention within segments [cu_seqlens[i], cu_seqlens[i+1]) (vision
  // tower: one segment per image / video temporal group). q, k, v, out: [n, heads, d].
  virtual void attention_segments(Tensor out, Tensor q, Tensor k, Tensor v,
                                  const std::vector<int32_t>& cu_seqlens, float scale) = 0;
  // Writes k, v [n, kv_heads, hd] into the pool layer buffers [slots, kv_heads, hd] at slots[n].
  virtual void kv_store(Tensor k_cache, Tensor v_cache, Tensor k, Tensor v, Tensor slots) = 0;
  // Causal GQA attention reading K/V through the slot table. q, out: [n, heads, hd];
  // caches: [slots, kv_heads, hd]; heads must be a multiple of kv_heads.
  virtual void attention_paged(Tensor out, Tensor q, Tensor k_cache, Tensor v_cache,
                               const PagedAttentionParams& params) = 0;
  // Text attention's head preparation in one op: splits the fused projection
  // qkv [n, (H + 2K)·hd] into q [n, H, hd], k [n, K, hd], v [n, K, hd], RMS-normalises each
  // q and k head over hd (q_norm / k_norm [hd]) and rotates them (rope() semantics; cos,
  // sin [n, hd/2] F32). The default composes gather_rows, rms_norm and rope; backends
  // override it with one pass.
  virtual void qkv_norm_rope(Tensor q, Tensor k, Tensor v, Tensor qkv, Tensor q_norm, Tensor k_norm,
                             float eps, Tensor cos, Tensor sin);

  // ---- sampling support -------------------------------------------------------------
  // Converts rows of activations (any float dtype) to F32 host memory.
  virtual void to_host_f32(float* dst, Tensor src) = 0;
  // ids[b] (host) = the token drawn from logits[b, :] ([B, vocab], any float dtype) with
  // batch.rows[b]. Only ids cross to the host on a device backend. The default copies the
  // logits to the host and runs the host sampler's pick (backend/sampling.h).
  virtual void sample(int32_t* ids, Tensor logits, const SamplingBatch& batch);

  // ---- step graphs ------------------------------------------------------------------
  // Records the ops that `ops` issues (without running them) for replay; null where the
  // backend has no graphs (CPU). The ops must
  // neither copy between host and device nor synchronize; scratch memory they take stays
  // reserved for the graph's lifetime.
  virtual std::unique_ptr<StepGraph> capture(const std::function<void()>& ops) {
    (void)ops;
    return nullptr;
  }
};

// The CPU backend always exists; threads <= 0 means all cores.
std::unique_ptr<Backend> make_cpu_backend(int threads = 0);
// CUDA attention kernels: the decode and tensor-core prefill kernels, or the scalar flash
// kernel kept as the reference and fallback; both are held to the same conformance and
// parity bounds (cpp/tools/gpu-check.sh).
enum class CudaAttention { Fast, Generic };
// "fast" or "generic"; InvalidArgument otherwise.
CudaAttention parse_cuda_attention(const std::string& text);
// The CUDA backend, or an Error(NoDevice) with a readable reason (not built with CUDA,
// no driver, no device with that index).
std::unique_ptr<Backend> make_cuda_backend(int device_index, CudaAttention attention);
// Dispatch on a parsed device; each backend takes the choice that concerns it.
std::unique_ptr<Backend> make_backend(const Device& device, int cpu_threads, CudaAttention cuda_attention);
// Sets how a CPU backend's bf16-weight linears take their activations: "rounded" or "exact"
// (backend/cpu/cpu_gemm_bf16.h); "" keeps its default. Other backends ignore it. Any other
// text is an InvalidArgument error naming the accepted values.
void set_cpu_bf16_activations(Backend& backend, const std::string& mode);

// RAII device allocation shaped as a tensor.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Backend& backend, DType dtype, std::initializer_list<int64_t> dims);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  const Tensor& tensor() const { return tensor_; }
  operator Tensor() const { return tensor_; }

 private:
  Backend* backend_ = nullptr;
  Tensor tensor_;
};

}  // namespace loupe
