#include "recording_backend.h"

#include <optional>

#include "core/error.h"

namespace loupe::model::test {
namespace {

class RecordedGraph final : public StepGraph {
 public:
  RecordedGraph(Backend& inner, std::vector<std::function<void()>> ops, std::vector<void*> held)
      : inner_(inner), ops_(std::move(ops)), held_(std::move(held)) {}
  ~RecordedGraph() override {
    for (void* p : held_) inner_.deallocate(p);
  }
  void replay() override {
    for (auto& op : ops_) op();
  }

 private:
  Backend& inner_;
  std::vector<std::function<void()>> ops_;
  std::vector<void*> held_;
};

}  // namespace

void RecordingBackend::issue(std::function<void()> op) {
  if (recording_) {
    recording_->ops.push_back(std::move(op));
  } else {
    op();
  }
}

void RecordingBackend::refuse_while_recording(const char* what) const {
  LOUPE_CHECK(recording_ == nullptr, Internal, what, " while a step graph is being recorded");
}

void RecordingBackend::deallocate(void* ptr) {
  if (recording_ && ptr) {
    recording_->held.push_back(ptr);
  } else {
    inner_->deallocate(ptr);
  }
}

void RecordingBackend::copy_from_host(void* dst, const void* src, size_t bytes) {
  refuse_while_recording("copy_from_host");
  inner_->copy_from_host(dst, src, bytes);
}

void RecordingBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
  refuse_while_recording("copy_to_host");
  inner_->copy_to_host(dst, src, bytes);
}

void RecordingBackend::synchronize() {
  refuse_while_recording("synchronize");
  inner_->synchronize();
}

void RecordingBackend::to_host_f32(float* dst, Tensor src) {
  refuse_while_recording("to_host_f32");
  inner_->to_host_f32(dst, src);
}

void RecordingBackend::sample(int32_t* ids, Tensor logits, const SamplingBatch& batch) {
  refuse_while_recording("sample");
  inner_->sample(ids, logits, batch);
}

void RecordingBackend::fill_zero(Tensor t) {
  issue([=, this] { inner_->fill_zero(t); });
}
void RecordingBackend::linear(Tensor y, Tensor x, Tensor w, const Tensor* bias) {
  const std::optional<Tensor> b = bias ? std::optional<Tensor>(*bias) : std::nullopt;
  issue([=, this] { inner_->linear(y, x, w, b ? &*b : nullptr); });
}
void RecordingBackend::rms_norm(Tensor y, Tensor x, Tensor weight, float eps) {
  issue([=, this] { inner_->rms_norm(y, x, weight, eps); });
}
void RecordingBackend::layer_norm(Tensor y, Tensor x, Tensor weight, Tensor bias, float eps) {
  issue([=, this] { inner_->layer_norm(y, x, weight, bias, eps); });
}
void RecordingBackend::add(Tensor y, Tensor a, Tensor b) {
  issue([=, this] { inner_->add(y, a, b); });
}
void RecordingBackend::gelu_tanh(Tensor y, Tensor x) {
  issue([=, this] { inner_->gelu_tanh(y, x); });
}
void RecordingBackend::gelu_erf(Tensor y, Tensor x) {
  issue([=, this] { inner_->gelu_erf(y, x); });
}
void RecordingBackend::silu_mul(Tensor y, Tensor gate_up) {
  issue([=, this] { inner_->silu_mul(y, gate_up); });
}
void RecordingBackend::rope(Tensor x, Tensor cos, Tensor sin) {
  issue([=, this] { inner_->rope(x, cos, sin); });
}
void RecordingBackend::embedding(Tensor y, Tensor table, Tensor ids) {
  issue([=, this] { inner_->embedding(y, table, ids); });
}
void RecordingBackend::scatter_rows(Tensor dst, Tensor rows, Tensor src, bool accumulate) {
  issue([=, this] { inner_->scatter_rows(dst, rows, src, accumulate); });
}
void RecordingBackend::gather_rows(Tensor dst, Tensor src, Tensor rows) {
  issue([=, this] { inner_->gather_rows(dst, src, rows); });
}
void RecordingBackend::attention_segments(Tensor out, Tensor q, Tensor k, Tensor v,
                                          const std::vector<int32_t>& cu_seqlens, float scale) {
  issue([=, this] { inner_->attention_segments(out, q, k, v, cu_seqlens, scale); });
}
void RecordingBackend::kv_store(Tensor k_cache, Tensor v_cache, Tensor k, Tensor v, Tensor slots) {
  issue([=, this] { inner_->kv_store(k_cache, v_cache, k, v, slots); });
}
void RecordingBackend::attention_paged(Tensor out, Tensor q, Tensor k_cache, Tensor v_cache,
                                       const PagedAttentionParams& params) {
  issue([=, this] { inner_->attention_paged(out, q, k_cache, v_cache, params); });
}
void RecordingBackend::qkv_norm_rope(Tensor q, Tensor k, Tensor v, Tensor qkv, Tensor q_norm, Tensor k_norm, float eps,
                                     Tensor cos, Tensor sin) {
  issue([=, this] { inner_->qkv_norm_rope(q, k, v, qkv, q_norm, k_norm, eps, cos, sin); });
}

std::unique_ptr<StepGraph> RecordingBackend::capture(const std::function<void()>& ops) {
  LOUPE_CHECK(recording_ == nullptr, Internal, "capture inside a capture");
  if (fail_next_capture) {
    fail_next_capture = false;
    LOUPE_FAIL(Internal, "recording backend: capture refused (test hook)");
  }
  Recording recording;
  recording_ = &recording;
  try {
    ops();
  } catch (...) {
    recording_ = nullptr;
    for (void* p : recording.held) inner_->deallocate(p);
    throw;
  }
  recording_ = nullptr;
  ++captures;
  return std::make_unique<RecordedGraph>(*inner_, std::move(recording.ops), std::move(recording.held));
}

}  // namespace loupe::model::test
