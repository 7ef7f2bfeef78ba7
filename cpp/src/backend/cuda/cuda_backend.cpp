#include "backend/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/kernels.h"
#include "backend/sampling.h"

namespace loupe::cuda {

namespace {

constexpr size_t kGemmWorkspaceBytes = size_t(32) << 20;

bool is_float(DType d) { return d == DType::BF16 || d == DType::F32; }

void require_float(const Tensor& t, const char* what) {
  LOUPE_CHECK(is_float(t.dtype), InvalidArgument, "CUDA backend: ", what, " must be bf16 or f32, got ", t.describe());
}
void require_i32(const Tensor& t, const char* what) {
  LOUPE_CHECK(t.dtype == DType::I32, InvalidArgument, "CUDA backend: ", what, " must be i32, got ", t.describe());
}
void require_same(const Tensor& a, const Tensor& b, const char* what) {
  LOUPE_CHECK(a.dtype == b.dtype && a.numel() == b.numel(), InvalidArgument, "CUDA backend: ", what,
              ": ", a.describe(), " vs ", b.describe());
}

}  // namespace

// Device scratch for the duration of one op: the block returns to the pool as soon as
// the op is queued, which is safe because everything runs on the one stream.
struct CudaBackend::Scratch {
  MemoryPool& pool;
  void* ptr;
  Scratch(MemoryPool& p, size_t bytes) : pool(p), ptr(bytes ? p.allocate(bytes) : nullptr) {}
  ~Scratch() { pool.deallocate(ptr); }
  template <class T> T* as() const { return static_cast<T*>(ptr); }
};

CudaBackend::CudaBackend(int device_index, bool fast_attention) : device_(device_index), fast_attention_(fast_attention) {
  LOUPE_CUDA_CHECK(cudaSetDevice(device_));
  cudaDeviceProp prop{};
  LOUPE_CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
  num_sms_ = prop.multiProcessorCount;
  name_ = detail::concat("cuda:", device_, " (", prop.name, ", sm_", prop.major, prop.minor, ", ",
                         fast_attention_ ? "fast" : "generic", " attention)");
  LOUPE_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  pool_ = std::make_unique<MemoryPool>(device_);
  gemm_workspace_ = pool_->allocate(kGemmWorkspaceBytes);
  gemm_ = std::make_unique<CublasLtGemm>(stream_, gemm_workspace_, kGemmWorkspaceBytes);
}

CudaBackend::~CudaBackend() {
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  gemm_.reset();
  if (gemm_workspace_) pool_->deallocate(gemm_workspace_);
  pool_.reset();
  if (stream_) cudaStreamDestroy(stream_);
}

void CudaBackend::activate() const {
  int current = -1;
  if (cudaGetDevice(&current) != cudaSuccess || current != device_) LOUPE_CUDA_CHECK(cudaSetDevice(device_));
}

// ---- memory ---------------------------------------------------------------------------

void* CudaBackend::allocate(size_t bytes) {
  activate();
  return pool_->allocate(bytes);
}

void CudaBackend::deallocate(void* ptr) { pool_->deallocate(ptr); }

// Copies are synchronous with respect to host memory, as on the CPU backend: callers may
// reuse or free their host buffer as soon as the call returns.
void CudaBackend::copy_from_host(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  activate();
  LOUPE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_));
  LOUPE_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  activate();
  LOUPE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  LOUPE_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::fill_zero(Tensor t) {
  if (t.nbytes() == 0) return;
  activate();
  LOUPE_CUDA_CHECK(cudaMemsetAsync(t.data, 0, t.nbytes(), stream_));
}

void CudaBackend::synchronize() {
  activate();
  LOUPE_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

size_t CudaBackend::free_memory() const {
  activate();
  size_t free_b = 0, total_b = 0;
  LOUPE_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  return free_b + pool_->cached_bytes();
}

// ---- dense math -----------------------------------------------------------------------

void CudaBackend::linear(Tensor y, Tensor x, Tensor w, const Tensor* bias) {
  require_float(x, "linear input");
  require_float(w, "linear weight");
  LOUPE_CHECK(w.ndim == 2, InvalidArgument, "linear weight must be 2-D [out, in], got ", w.describe());
  const int64_t m = x.rows(), k = x.cols(), n = w.dim(0);
  LOUPE_CHECK(w.dim(1) == k && y.rows() == m && y.cols() == n, InvalidArgument, "linear shapes: y ",
              y.describe(), " = x ", x.describe(), " · w ", w.describe(), "ᵀ");
  LOUPE_CHECK(x.dtype == y.dtype, InvalidArgument, "linear input ", x.describe(), " and output ", y.describe(),
              " differ in dtype");
  if (bias) {
    require_float(*bias, "linear bias");
    LOUPE_CHECK(bias->numel() == n, InvalidArgument, "linear bias ", bias->describe(), " for ", n, " outputs");
  }
  if (m == 0 || n == 0) return;
  activate();
  if (w.dtype != x.dtype) {
    // fp32 weights (an fp32 checkpoint) with bf16 activations: run the product in fp32,
    // as HF does for such a checkpoint, and round only the result.
    LOUPE_CHECK(w.dtype == DType::F32, InvalidArgument, "CUDA linear: ", w.describe(), " weights with ",
                x.describe(), " input");
    Scratch x32(*pool_, size_t(m * k) * sizeof(float)), y32(*pool_, size_t(m * n) * sizeof(float));
    launch_to_f32(x32.as<float>(), x.data, x.dtype, m * k, stream_);
    linear_same_dtype(y32.ptr, x32.ptr, w.data, bias, DType::F32, m, n, k);
    launch_from_f32(y.data, y32.as<float>(), y.dtype, m * n, stream_);
    return;
  }
  linear_same_dtype(y.data, x.data, w.data, bias, x.dtype, m, n, k);
}

void CudaBackend::linear_same_dtype(void* y, const void* x, const void* w, const Tensor* bias, DType dtype,
                                    int64_t m, int64_t n, int64_t k) {
  if (k == 0) {
    LOUPE_CUDA_CHECK(cudaMemsetAsync(y, 0, size_t(m * n) * dtype_size(dtype), stream_));
    if (bias) launch_add_bias(y, bias->data, dtype, bias->dtype, m, n, stream_);
    return;
  }
  // The bias epilogue takes a bias of the output's dtype; another dtype is added after.
  const bool fused_bias = bias && bias->dtype == dtype;
  if (gemm_->linear(y, x, w, fused_bias ? bias->data : nullptr, dtype, m, n, k)) {
    if (bias && !fused_bias) launch_add_bias(y, bias->data, dtype, bias->dtype, m, n, stream_);
    return;
  }
  launch_linear_fallback(y, x, w, bias ? bias->data : nullptr, dtype, bias ? bias->dtype : dtype, m, n, k, stream_);
}

void CudaBackend::rms_norm(Tensor y, Tensor x, Tensor weight, float eps) {
  require_float(x, "rms_norm input");
  require_float(weight, "rms_norm weight");
  require_same(y, x, "rms_norm output vs input");
  LOUPE_CHECK(weight.numel() == x.cols(), InvalidArgument, "rms_norm weight ", weight.describe(), " for rows of ", x.cols());
  activate();
  launch_rms_norm(y.data, x.data, weight.data, x.dtype, weight.dtype, x.rows(), x.cols(), eps, stream_);
}

void CudaBackend::layer_norm(Tensor y, Tensor x, Tensor weight, Tensor bias, float eps) {
  require_float(x, "layer_norm input");
  require_float(weight, "layer_norm weight");
  require_same(y, x, "layer_norm output vs input");
  LOUPE_CHECK(weight.numel() == x.cols() && bias.numel() == x.cols() && bias.dtype == weight.dtype, InvalidArgument,
              "layer_norm weight ", weight.describe(), " / bias ", bias.describe(), " for rows of ", x.cols());
  activate();
  launch_layer_norm(y.data, x.data, weight.data, bias.data, x.dtype, weight.dtype, x.rows(), x.cols(), eps, stream_);
}

// ---- elementwise ----------------------------------------------------------------------

void CudaBackend::add(Tensor y, Tensor a, Tensor b) {
  require_float(y, "add output");
  require_same(y, a, "add output vs a");
  require_same(y, b, "add output vs b");
  activate();
  launch_add(y.data, a.data, b.data, y.dtype, y.numel(), stream_);
}

void CudaBackend::gelu_tanh(Tensor y, Tensor x) {
  require_float(x, "gelu input");
  require_same(y, x, "gelu output vs input");
  activate();
  launch_activation(y.data, x.data, Activation::GeluTanh, x.dtype, x.numel(), stream_);
}

void CudaBackend::gelu_erf(Tensor y, Tensor x) {
  require_float(x, "gelu input");
  require_same(y, x, "gelu output vs input");
  activate();
  launch_activation(y.data, x.data, Activation::GeluErf, x.dtype, x.numel(), stream_);
}

void CudaBackend::silu_mul(Tensor y, Tensor gate_up) {
  require_float(gate_up, "silu_mul input");
  LOUPE_CHECK(y.dtype == gate_up.dtype && gate_up.cols() % 2 == 0 && y.cols() * 2 == gate_up.cols() &&
                  y.rows() == gate_up.rows(),
              InvalidArgument, "silu_mul shapes: y ", y.describe(), ", gate_up ", gate_up.describe());
  activate();
  launch_silu_mul(y.data, gate_up.data, y.dtype, y.rows(), y.cols(), stream_);
}

void CudaBackend::rope(Tensor x, Tensor cos, Tensor sin) {
  require_float(x, "rope input");
  LOUPE_CHECK(x.ndim == 3 && x.dim(2) % 2 == 0, InvalidArgument, "rope input must be [n, heads, even hd], got ", x.describe());
  const int64_t n = x.dim(0), heads = x.dim(1), hd = x.dim(2);
  LOUPE_CHECK(cos.dtype == DType::F32 && sin.dtype == DType::F32 && cos.numel() == n * hd / 2 &&
                  sin.numel() == n * hd / 2,
              InvalidArgument, "rope tables must be f32 [", n, ", ", hd / 2, "], got ", cos.describe(), " / ",
              sin.describe());
  activate();
  launch_rope(x.data, cos.ptr<float>(), sin.ptr<float>(), x.dtype, n, heads, hd, stream_);
}

// ---- gathers and scatters -------------------------------------------------------------

void CudaBackend::embedding(Tensor y, Tensor table, Tensor ids) {
  require_float(y, "embedding output");
  require_float(table, "embedding table");
  require_i32(ids, "embedding ids");
  LOUPE_CHECK(y.rows() == ids.numel() && y.cols() == table.cols(), InvalidArgument, "embedding shapes: y ",
              y.describe(), ", table ", table.describe(), ", ids ", ids.describe());
  activate();
  launch_embedding(y.data, table.data, ids.ptr<int32_t>(), y.dtype, table.dtype, ids.numel(), y.cols(), stream_);
}

void CudaBackend::scatter_rows(Tensor dst, Tensor rows, Tensor src, bool accumulate) {
  require_i32(rows, "scatter rows");
  LOUPE_CHECK(dst.dtype == src.dtype && dst.cols() == src.cols() && src.rows() == rows.numel(), InvalidArgument,
              "scatter_rows shapes: dst ", dst.describe(), ", src ", src.describe(), ", rows ", rows.describe());
  activate();
  if (accumulate) {
    require_float(dst, "scatter-add destination");
    launch_scatter_add_rows(dst.data, rows.ptr<int32_t>(), src.data, dst.dtype, rows.numel(), dst.cols(), stream_);
  } else {
    launch_scatter_rows(dst.data, rows.ptr<int32_t>(), src.data, rows.numel(),
                        dst.cols() * int64_t(dtype_size(dst.dtype)), stream_);
  }
}

void CudaBackend::gather_rows(Tensor dst, Tensor src, Tensor rows) {
  require_i32(rows, "gather rows");
  LOUPE_CHECK(dst.dtype == src.dtype && dst.cols() == src.cols() && dst.rows() == rows.numel(), InvalidArgument,
              "gather_rows shapes: dst ", dst.describe(), ", src ", src.describe(), ", rows ", rows.describe());
  activate();
  launch_gather_rows(dst.data, src.data, rows.ptr<int32_t>(), rows.numel(),
                     dst.cols() * int64_t(dtype_size(dst.dtype)), stream_);
}

// ---- attention ------------------------------------------------------------------------

namespace {
void check_attention_heads(const Tensor& out, const Tensor& q, const Tensor& k, const Tensor& v) {
  require_float(q, "attention q");
  LOUPE_CHECK(q.ndim == 3 && k.ndim == 3 && v.ndim == 3 && out.ndim == 3, InvalidArgument,
              "attention tensors must be [rows, heads, head_dim]: q ", q.describe(), ", k ", k.describe());
  LOUPE_CHECK(k.dtype == q.dtype && v.dtype == q.dtype && out.dtype == q.dtype && out.numel() == q.numel(),
              InvalidArgument, "attention dtypes/shapes: q ", q.describe(), ", k ", k.describe(), ", v ",
              v.describe(), ", out ", out.describe());
  LOUPE_CHECK(k.dim(2) == q.dim(2) && v.dim(2) == q.dim(2) && k.dim(1) == v.dim(1) && k.dim(1) > 0 &&
                  q.dim(1) % k.dim(1) == 0,
              InvalidArgument, "attention heads: q ", q.describe(), " must be a multiple of kv ", k.describe());
}
}  // namespace

void CudaBackend::attention_segments(Tensor out, Tensor q, Tensor k, Tensor v,
                                     const std::vector<int32_t>& cu_seqlens, float scale) {
  check_attention_heads(out, q, k, v);
  const int64_t n = q.dim(0);
  LOUPE_CHECK(k.dim(0) == n && v.dim(0) == n, InvalidArgument, "attention_segments: k/v rows differ from q");
  LOUPE_CHECK(cu_seqlens.size() >= 1 && cu_seqlens.front() == 0 && cu_seqlens.back() == n, InvalidArgument,
              "cu_seqlens must run from 0 to ", n);
  // [starts..., lengths...] of the non-empty segments, uploaded for the kernel.
  std::vector<int32_t> meta;
  std::vector<int32_t> lengths;
  int max_len = 0;
  for (size_t i = 0; i + 1 < cu_seqlens.size(); ++i) {
    const int32_t len = cu_seqlens[i + 1] - cu_seqlens[i];
    LOUPE_CHECK(len >= 0, InvalidArgument, "cu_seqlens must not decrease");
    if (len == 0) continue;
    meta.push_back(cu_seqlens[i]);
    lengths.push_back(len);
    max_len = std::max(max_len, len);
  }
  if (meta.empty()) return;
  const int batch = int(meta.size());
  meta.insert(meta.end(), lengths.begin(), lengths.end());
  activate();
  Scratch meta_d(*pool_, meta.size() * sizeof(int32_t));
  LOUPE_CUDA_CHECK(cudaMemcpyAsync(meta_d.ptr, meta.data(), meta.size() * sizeof(int32_t), cudaMemcpyHostToDevice, stream_));

  AttentionProblem p;
  p.q = q.data; p.k = k.data; p.v = v.data; p.out = out.data; p.dtype = q.dtype;
  p.heads = int(q.dim(1)); p.kv_heads = int(k.dim(1)); p.head_dim = int(q.dim(2));
  p.q_rows = n; p.batch = batch;
  p.q_start = meta_d.as<int32_t>();
  p.kv_start = p.q_start;
  p.q_len = p.q_start + batch;
  p.kv_len = p.q_len;
  p.causal = false; p.scale = scale;
  p.max_q_len = max_len; p.max_kv_len = max_len;
  p.fast_paths = fast_attention_;
  Scratch ws(*pool_, attention_workspace_floats(p, num_sms_) * sizeof(float));
  launch_attention(p, ws.as<float>(), num_sms_, stream_);
  // pageable-source async copies are staged before returning, so meta may go now
}

void CudaBackend::kv_store(Tensor k_cache, Tensor v_cache, Tensor k, Tensor v, Tensor slots) {
  require_i32(slots, "kv_store slots");
  LOUPE_CHECK(k.dtype == k_cache.dtype && v.dtype == v_cache.dtype && k_cache.ndim >= 2 && k_cache.dim(0) > 0,
              InvalidArgument, "kv_store: k ", k.describe(), " into ", k_cache.describe(), ", v ", v.describe(),
              " into ", v_cache.describe());
  // Rows of the pool are [kv_heads * hd]; k/v rows are tokens.
  const int64_t row_elems = k_cache.numel() / k_cache.dim(0);
  LOUPE_CHECK(k.numel() == slots.numel() * row_elems && v.numel() == slots.numel() * row_elems &&
                  v_cache.numel() == k_cache.numel(),
              InvalidArgument, "kv_store shapes: k ", k.describe(), ", v ", v.describe(), ", slots ",
              slots.describe(), ", cache ", k_cache.describe());
  activate();
  const int64_t row_bytes = row_elems * int64_t(dtype_size(k.dtype));
  launch_scatter_rows(k_cache.data, slots.ptr<int32_t>(), k.data, slots.numel(), row_bytes, stream_);
  launch_scatter_rows(v_cache.data, slots.ptr<int32_t>(), v.data, slots.numel(), row_bytes, stream_);
}

void CudaBackend::attention_paged(Tensor out, Tensor q, Tensor k_cache, Tensor v_cache,
                                  const PagedAttentionParams& params) {
  check_attention_heads(out, q, k_cache, v_cache);
  require_i32(params.q_start, "q_start");
  require_i32(params.q_len, "q_len");
  require_i32(params.kv_len, "kv_len");
  require_i32(params.kv_slots, "kv_slots");
  LOUPE_CHECK(params.batch >= 0 && params.q_start.numel() >= params.batch && params.q_len.numel() >= params.batch &&
                  params.kv_len.numel() >= params.batch,
              InvalidArgument, "attention_paged: batch ", params.batch, " exceeds the index tensors");
  LOUPE_CHECK(params.max_q_len <= params.max_kv_len, InvalidArgument, "attention_paged: max_q_len ",
              params.max_q_len, " > max_kv_len ", params.max_kv_len);
  if (params.batch == 0 || params.max_q_len == 0) return;
  activate();
  AttentionProblem p;
  p.q = q.data; p.k = k_cache.data; p.v = v_cache.data; p.out = out.data; p.dtype = q.dtype;
  p.heads = int(q.dim(1)); p.kv_heads = int(k_cache.dim(1)); p.head_dim = int(q.dim(2));
  p.q_rows = q.dim(0); p.batch = params.batch;
  p.q_start = params.q_start.ptr<int32_t>();
  p.q_len = params.q_len.ptr<int32_t>();
  p.kv_len = params.kv_len.ptr<int32_t>();
  p.kv_slots = params.kv_slots.ptr<int32_t>();
  p.slots_stride = params.kv_slots.ndim >= 2 ? params.kv_slots.dim(1) : params.kv_slots.numel();
  p.causal = true; p.scale = params.scale;
  p.max_q_len = params.max_q_len; p.max_kv_len = params.max_kv_len;
  p.fast_paths = fast_attention_;
  Scratch ws(*pool_, attention_workspace_floats(p, num_sms_) * sizeof(float));
  launch_attention(p, ws.as<float>(), num_sms_, stream_);
}

void CudaBackend::qkv_norm_rope(Tensor q, Tensor k, Tensor v, Tensor qkv, Tensor q_norm, Tensor k_norm, float eps,
                                Tensor cos, Tensor sin) {
  require_float(qkv, "qkv_norm_rope input");
  require_float(q_norm, "q_norm weight");
  LOUPE_CHECK(q.ndim == 3 && k.ndim == 3 && v.ndim == 3, InvalidArgument,
              "qkv_norm_rope: q, k, v must be [n, heads, hd], got ", q.describe(), ", ", k.describe(), ", ",
              v.describe());
  const int64_t n = q.dim(0), H = q.dim(1), K = k.dim(1), hd = q.dim(2);
  LOUPE_CHECK(k.dim(0) == n && v.dim(0) == n && k.dim(2) == hd && v.dim(1) == K && v.dim(2) == hd && hd % 2 == 0 &&
                  qkv.rows() == n && qkv.cols() == (H + 2 * K) * hd && q.dtype == qkv.dtype &&
                  k.dtype == qkv.dtype && v.dtype == qkv.dtype,
              InvalidArgument, "qkv_norm_rope shapes: qkv ", qkv.describe(), " into q ", q.describe(), ", k ",
              k.describe(), ", v ", v.describe());
  LOUPE_CHECK(q_norm.numel() == hd && k_norm.numel() == hd && k_norm.dtype == q_norm.dtype, InvalidArgument,
              "qkv_norm_rope norm weights ", q_norm.describe(), " / ", k_norm.describe(), " for head size ", hd);
  LOUPE_CHECK(cos.dtype == DType::F32 && sin.dtype == DType::F32 && cos.numel() == n * hd / 2 &&
                  sin.numel() == n * hd / 2,
              InvalidArgument, "rope tables must be f32 [", n, ", ", hd / 2, "], got ", cos.describe(), " / ",
              sin.describe());
  activate();
  launch_qkv_norm_rope(q.data, k.data, v.data, qkv.data, q_norm.data, k_norm.data, cos.ptr<float>(),
                       sin.ptr<float>(), qkv.dtype, q_norm.dtype, n, int(H), int(K), int(hd), eps, stream_);
}

// ---- sampling ---------------------------------------------------------------------------

// One upload of everything the kernels read (row parameters, penalty lists, the sampled
// rows and their sort segments), one download of the ids.
void CudaBackend::sample(int32_t* ids, Tensor logits, const SamplingBatch& batch) {
  require_float(logits, "sample logits");
  LOUPE_CHECK(logits.ndim == 2, InvalidArgument, "sample: logits must be [batch, vocab], got ", logits.describe());
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  sampling::validate_batch(batch, rows, vocab);
  LOUPE_CHECK(vocab > 0 && vocab < (int64_t(1) << 30) && rows < (int64_t(1) << 20), InvalidArgument,
              "sample: unsupported logits shape ", logits.describe());
  if (rows == 0) return;
  std::vector<SampleRowParams> params(static_cast<size_t>(rows));
  std::vector<int32_t> sampled;
  for (int64_t b = 0; b < rows; ++b) {
    const SamplingRow& r = batch.rows[size_t(b)];
    SampleRowParams& p = params[size_t(b)];
    p = SampleRowParams{};
    p.uniform = r.uniform;
    p.inv_temperature = r.greedy() ? 0.0f : 1.0f / r.temperature;
    p.top_k = r.top_k;
    p.top_p = r.top_p;
    p.min_p = r.min_p;
    p.repetition = r.repetition_penalty;
    p.presence = r.presence_penalty;
    p.frequency = r.frequency_penalty;
    p.penalty_begin = r.penalty_begin;
    p.penalty_end = r.penalty_end;
    p.mask_begin = r.mask_begin;
    if (!r.greedy()) sampled.push_back(int32_t(b));
  }
  const int num_sampled = int(sampled.size());
  std::vector<int32_t> offsets(size_t(num_sampled) + 1);
  for (int s = 0; s <= num_sampled; ++s) offsets[size_t(s)] = int32_t(int64_t(s) * vocab);
  LOUPE_CHECK(int64_t(num_sampled) * vocab < (int64_t(1) << 31), InvalidArgument, "sample: ", num_sampled,
              " sampled rows of ", vocab, " logits exceed one sort");

  // Host staging: [params][penalty ids][penalty counts][sampled rows][offsets][masks], 8-aligned.
  const size_t entries = batch.penalty_ids.size();
  auto align8 = [](size_t x) { return (x + 7) & ~size_t(7); };
  const size_t off_ids = align8(params.size() * sizeof(SampleRowParams));
  const size_t off_counts = align8(off_ids + entries * sizeof(int32_t));
  const size_t off_rows = align8(off_counts + entries * sizeof(int32_t));
  const size_t off_offsets = align8(off_rows + sampled.size() * sizeof(int32_t));
  const size_t off_masks = align8(off_offsets + offsets.size() * sizeof(int32_t));
  const size_t staged = off_masks + batch.allowed.size() * sizeof(uint32_t);
  std::vector<uint8_t> host(staged);
  std::memcpy(host.data(), params.data(), params.size() * sizeof(SampleRowParams));
  if (entries) {
    std::memcpy(host.data() + off_ids, batch.penalty_ids.data(), entries * sizeof(int32_t));
    std::memcpy(host.data() + off_counts, batch.penalty_counts.data(), entries * sizeof(int32_t));
  }
  if (num_sampled) std::memcpy(host.data() + off_rows, sampled.data(), sampled.size() * sizeof(int32_t));
  std::memcpy(host.data() + off_offsets, offsets.data(), offsets.size() * sizeof(int32_t));
  if (!batch.allowed.empty())
    std::memcpy(host.data() + off_masks, batch.allowed.data(), batch.allowed.size() * sizeof(uint32_t));

  activate();
  Scratch meta(*pool_, staged);
  LOUPE_CUDA_CHECK(cudaMemcpyAsync(meta.ptr, host.data(), staged, cudaMemcpyHostToDevice, stream_));
  const size_t keys = size_t(num_sampled) * size_t(vocab);
  const size_t sort_bytes = sample_sort_temp_bytes(num_sampled, int(vocab));
  Scratch work(*pool_, size_t(rows * vocab) * sizeof(float)), out(*pool_, size_t(rows) * sizeof(int32_t));
  Scratch keys_in(*pool_, keys * sizeof(unsigned long long)), keys_out(*pool_, keys * sizeof(unsigned long long));
  Scratch sort_temp(*pool_, sort_bytes);

  SampleLaunch l;
  l.logits = logits.data;
  l.dtype = logits.dtype;
  l.rows = int(rows);
  l.vocab = int(vocab);
  auto at = [&](size_t offset) { return static_cast<uint8_t*>(meta.ptr) + offset; };
  l.params = reinterpret_cast<const SampleRowParams*>(at(0));
  l.penalty_ids = reinterpret_cast<const int32_t*>(at(off_ids));
  l.penalty_counts = reinterpret_cast<const int32_t*>(at(off_counts));
  l.masks = reinterpret_cast<const uint32_t*>(at(off_masks));
  l.num_sampled = num_sampled;
  l.sample_rows = reinterpret_cast<const int32_t*>(at(off_rows));
  l.segment_offsets = reinterpret_cast<const int32_t*>(at(off_offsets));
  l.work = work.as<float>();
  l.keys_in = keys_in.as<unsigned long long>();
  l.keys_out = keys_out.as<unsigned long long>();
  l.sort_temp = sort_temp.ptr;
  l.sort_temp_bytes = sort_bytes;
  l.out_ids = out.as<int32_t>();
  launch_sample(l, stream_);
  copy_to_host(ids, out.ptr, size_t(rows) * sizeof(int32_t));
  for (int64_t b = 0; b < rows; ++b)
    LOUPE_CHECK(ids[b] >= 0 && ids[b] < vocab, Internal, "sample: row ", b, " has no finite logit to draw from");
}

// ---- step graphs ------------------------------------------------------------------------

namespace {

// An instantiated CUDA graph. Its scratch lives in the memory pool's graph arena, which
// stays reserved while any graph exists (MemoryPool::begin_capture).
class CudaStepGraph final : public StepGraph {
 public:
  CudaStepGraph(int device, cudaStream_t stream, cudaGraphExec_t exec, MemoryPool& pool)
      : device_(device), stream_(stream), exec_(exec), pool_(pool) {
    pool_.graph_created();
  }
  ~CudaStepGraph() override {
    cudaSetDevice(device_);
    cudaStreamSynchronize(stream_);  // a replay may still be running
    cudaGraphExecDestroy(exec_);
    pool_.graph_destroyed();
  }
  void replay() override {
    LOUPE_CUDA_CHECK(cudaSetDevice(device_));
    LOUPE_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
  }

 private:
  int device_;
  cudaStream_t stream_;
  cudaGraphExec_t exec_;
  MemoryPool& pool_;
};

}  // namespace

std::unique_ptr<StepGraph> CudaBackend::capture(const std::function<void()>& ops) {
  activate();
  // Work queued before the capture is not part of it.
  LOUPE_CUDA_CHECK(cudaStreamSynchronize(stream_));
  pool_->begin_capture();
  // Relaxed: the pool may still cudaMalloc a block it has not cached yet.
  cudaError_t begin = cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed);
  if (begin != cudaSuccess) {
    pool_->end_capture();
    LOUPE_CUDA_CHECK(begin);
  }
  cudaGraph_t graph = nullptr;
  try {
    ops();
  } catch (...) {
    cudaStreamEndCapture(stream_, &graph);
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();  // the capture's own error, if any, is superseded by the op's
    pool_->end_capture();
    throw;
  }
  const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
  if (end != cudaSuccess) {
    if (graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    pool_->end_capture();
    LOUPE_FAIL(Internal, "CUDA graph capture failed (an op copied to or from the host or synchronised?): ",
               cudaGetErrorString(end));
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  if (inst != cudaSuccess) {
    pool_->end_capture();
    LOUPE_CUDA_CHECK(inst);
  }
  // Counted before end_capture, so the arena is not handed back in between.
  auto step = std::make_unique<CudaStepGraph>(device_, stream_, exec, *pool_);
  pool_->end_capture();
  return step;
}

// ---- sampling support -----------------------------------------------------------------

void CudaBackend::to_host_f32(float* dst, Tensor src) {
  require_float(src, "to_host_f32 source");
  activate();
  if (src.dtype == DType::F32) {
    copy_to_host(dst, src.data, src.nbytes());
    return;
  }
  Scratch tmp(*pool_, size_t(src.numel()) * sizeof(float));
  launch_to_f32(tmp.as<float>(), src.data, src.dtype, src.numel(), stream_);
  copy_to_host(dst, tmp.ptr, size_t(src.numel()) * sizeof(float));
}

}  // namespace loupe::cuda
