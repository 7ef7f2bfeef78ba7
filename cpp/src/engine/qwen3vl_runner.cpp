// ModelRunner over model::Qwen3VLModel: hands the scheduler's ForwardBatch to the model
// with its KV pool, owns the backend, runs the vision tower for items the feature cache
// could not supply (timed separately), and turns generation_config.json into the default
// sampling parameters.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <unordered_map>

#include "backend/backend.h"
#include "core/error.h"
#include "engine/model_runner.h"
#include "engine/sampler.h"
#include "model/config.h"
#include "model/forward_batch.h"
#include "model/kv_cache.h"
#include "model/qwen3_vl.h"
#include "model/rope_index.h"

namespace loupe::engine {
namespace {

SamplingParams defaults_from(const model::GenerationConfig& gen) {
  SamplingParams p;
  p.temperature = gen.do_sample ? float(gen.temperature) : 0.0f;  // do_sample=false: greedy
  p.top_k = int32_t(gen.top_k);
  p.top_p = float(gen.top_p);
  p.repetition_penalty = float(gen.repetition_penalty);
  p.stop_token_ids = gen.eos_token_ids;
  return p;
}

std::unique_ptr<Backend> configured_backend(const EngineOptions& options) {
  std::unique_ptr<Backend> backend =
      make_backend(Device::parse(options.device), options.threads, parse_cuda_attention(options.cuda_attention));
  set_cpu_bf16_activations(*backend, options.cpu_bf16_activations);
  return backend;
}

model::LoadOptions load_options(const EngineOptions& options) {
  model::LoadOptions load;
  load.int8_text_linears = options.int8_text_weights;
  load.decode_graphs.enabled = options.decode_graphs;
  load.decode_graphs.max_batch = std::max(1, options.max_running);
  return load;
}

class Qwen3VLRunner final : public ModelRunner {
 public:
  Qwen3VLRunner(const std::string& model_dir, const EngineOptions& options)
      : backend_(configured_backend(options)),
        model_(std::make_unique<model::Qwen3VLModel>(*backend_, model_dir, load_options(options))) {
    const model::ModelConfig& config = model_->config();
    info_.vocab_size = int32_t(config.text.vocab_size);
    info_.image_token_id = config.image_token_id;
    info_.video_token_id = config.video_token_id;
    info_.spatial_merge = int32_t(config.vision.spatial_merge_size);
    info_.patch_dim = int32_t(config.vision.patch_dim());
    info_.kv_bytes_per_token = model::KVCache::bytes_per_token(config, backend_->activation_dtype());
    info_.generation_defaults = defaults_from(model::load_generation_config(model_dir));
    info_.hidden_size = int32_t(config.text.hidden_size);
    info_.can_generate = model_->can_generate();
  }

  const RunnerInfo& info() const override { return info_; }
  size_t free_memory() const override { return backend_->free_memory(); }

  void allocate_kv(int32_t capacity) override {
    kv_ = std::make_unique<model::KVCache>(*backend_, model_->config(), capacity);
  }

  PromptPositions positions(const std::vector<int32_t>& ids, const std::vector<VisualItem>& items) override {
    std::vector<GridTHW> images, videos;
    for (const auto& item : items) (item.kind == VisualKind::Image ? images : videos).push_back(item.grid);
    model::RopePositions rope = model::get_rope_index(ids, images, videos, model_->config());
    return {std::move(rope.positions), int32_t(rope.delta)};
  }

  void forward(Step& step, std::vector<float>& logits) override {
    LOUPE_CHECK(kv_ != nullptr, Internal, "forward before the KV pool was allocated");
    ForwardBatch& batch = step.batch;
    std::unordered_map<uint64_t, const VisualItem*> encoded;  // same image twice in a step: one tower run
    for (VisualItem* item : batch.items) {
      if (item->features) continue;
      if (auto same = encoded.find(item->hash); same != encoded.end()) {
        item->features = same->second->features;
        item->feature_bytes = same->second->feature_bytes;
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      std::shared_ptr<const model::VisionFeatures> features = model_->encode_vision(item->pixel_values, item->grid);
      backend_->synchronize();
      item->vision_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      item->feature_bytes = features->bytes();
      item->features = std::move(features);
      encoded.emplace(item->hash, item);
    }
    batch.kv_cache = kv_.get();
    const bool pools = std::any_of(step.pooling.begin(), step.pooling.end(), [](auto* p) { return p != nullptr; });
    model::Qwen3VLModel::StepOutput out = model_->forward_step(step.input_ids, step.positions, batch, pools);
    if (out.logits.data) sample_on_device(step, out.logits);
    if (pools) pool(step, out.hidden);
    logits.clear();
  }

 private:
  // What a prefill-only sequence returns, from h on the host in fp32 (double sums).
  void pool(Step& step, Tensor hidden) {
    const size_t D = size_t(info_.hidden_size);
    std::vector<float> h(size_t(step.batch.batch_size) * D);
    backend_->to_host_f32(h.data(), hidden);
    backend_->synchronize();
    step.pooled.assign(step.pooling.size(), {});
    for (size_t b = 0; b < step.pooling.size(); ++b) {
      const PoolingParams* p = step.pooling[b];
      if (!p) continue;
      const float* row = h.data() + b * D;
      if (p->kind == PoolingParams::Kind::Embedding) {
        const size_t d = p->dimensions > 0 ? std::min(size_t(p->dimensions), D) : D;
        double norm = 0;
        for (size_t i = 0; i < d; ++i) norm += double(row[i]) * row[i];
        // As torch's F.normalize: divide by max(|x|, 1e-12).
        const double scale = 1.0 / std::max(std::sqrt(norm), 1e-12);
        std::vector<float>& v = step.pooled[b];
        v.resize(d);
        for (size_t i = 0; i < d; ++i) v[i] = float(row[i] * scale);
      } else {
        const std::vector<float>& w = yes_minus_no(p->yes_token, p->no_token);
        double logit = 0;
        for (size_t i = 0; i < D; ++i) logit += double(row[i]) * w[i];
        step.pooled[b] = {float(1.0 / (1.0 + std::exp(-logit)))};
      }
    }
  }

  // W[yes] - W[no] of the output head, as the reference folds it into one linear layer.
  const std::vector<float>& yes_minus_no(int32_t yes, int32_t no) {
    const uint64_t key = (uint64_t(uint32_t(yes)) << 32) | uint32_t(no);
    auto it = score_rows_.find(key);
    if (it != score_rows_.end()) return it->second;
    const Tensor& head = model_->weights().lm_head;
    LOUPE_CHECK(head.data != nullptr, InvalidArgument, "a yes/no score needs the checkpoint's output head (lm_head)");
    const size_t D = size_t(info_.hidden_size);
    std::vector<float> rows(2 * D);
    backend_->to_host_f32(rows.data(), head.slice_rows(yes, yes + 1));
    backend_->to_host_f32(rows.data() + D, head.slice_rows(no, no + 1));
    backend_->synchronize();
    std::vector<float> diff(D);
    for (size_t i = 0; i < D; ++i) diff[i] = rows[i] - rows[D + i];
    return score_rows_.emplace(key, std::move(diff)).first->second;
  }

  // The step's tokens are drawn where the logits are (Backend::sample): a device backend
  // returns only ids; each request's Sampler supplies its row (penalties, its own RNG draw)
  // and records the pick, so results equal the host sampler's on the same logits.
  void sample_on_device(Step& step, Tensor logits) {
    const size_t rows = size_t(step.batch.batch_size);
    LOUPE_CHECK(step.samplers.size() == rows, Internal, "step has ", step.samplers.size(), " samplers for ",
                rows, " sequences");
    step.next_tokens.assign(rows, -1);
    SamplingBatch sampling;
    bool any = false;
    for (Sampler* s : step.samplers) {
      if (s) {
        s->add_row(sampling);
        any = true;
      } else {
        sampling.rows.emplace_back();  // greedy placeholder; its pick is ignored
      }
    }
    if (!any) return;
    std::vector<int32_t> ids(rows);
    backend_->sample(ids.data(), logits, sampling);
    for (size_t b = 0; b < rows; ++b) {
      if (!step.samplers[b]) continue;
      step.samplers[b]->accept(ids[b]);
      step.next_tokens[b] = ids[b];
    }
  }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<model::Qwen3VLModel> model_;
  std::unique_ptr<model::KVCache> kv_;
  RunnerInfo info_;
  std::unordered_map<uint64_t, std::vector<float>> score_rows_;  // (yes, no) -> W[yes] - W[no]
};

}  // namespace

std::unique_ptr<ModelRunner> open_qwen3vl_runner(const std::string& model_dir, const EngineOptions& options) {
  return std::make_unique<Qwen3VLRunner>(model_dir, options);
}

}  // namespace loupe::engine
