#pragma once
// RecordingBackend: a backend with step graphs on machines without a GPU. It forwards every
// op to an inner backend (the CPU's), and its capture() gives the model what a CUDA graph
// gives it, so the decode-graph plumbing is tested in every build:
//   - nothing runs while recording; replay() runs the recorded ops in order;
//   - an op is recorded with its arguments as they were (pointers, shapes, scalars), so a
//     replay reads new values only through memory written between replays;
//   - host copies, synchronize(), sampling and to_host_f32 while recording are errors (a
//     CUDA capture fails on them too);
//   - blocks freed while recording stay allocated until the graph is destroyed.
#include <functional>
#include <memory>
#include <vector>

#include "backend/backend.h"

namespace loupe::model::test {

class RecordingBackend final : public Backend {
 public:
  explicit RecordingBackend(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}

  int captures = 0;               // successful capture() calls
  bool fail_next_capture = false;  // test hook: the next capture() throws, as a driver error would

  std::string name() const override { return "recording(" + inner_->name() + ")"; }
  Device device() const override { return inner_->device(); }
  DType activation_dtype() const override { return inner_->activation_dtype(); }

  void* allocate(size_t bytes) override { return inner_->allocate(bytes); }
  void deallocate(void* ptr) override;
  void copy_from_host(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void fill_zero(Tensor t) override;
  void synchronize() override;
  size_t free_memory() const override { return inner_->free_memory(); }

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

 private:
  struct Recording {
    std::vector<std::function<void()>> ops;
    std::vector<void*> held;  // freed while recording
  };
  // Runs the op now, or records it while capturing.
  void issue(std::function<void()> op);
  void refuse_while_recording(const char* what) const;

  std::unique_ptr<Backend> inner_;
  Recording* recording_ = nullptr;
};

}  // namespace loupe::model::test
