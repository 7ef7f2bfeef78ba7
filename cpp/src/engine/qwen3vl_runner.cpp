// ModelRunner over model::Qwen3VLModel: maps the engine's StepBatch onto the model's
// ForwardBatch, owns the backend and the KV pool, runs the vision tower for items the
// feature cache could not supply (timed separately), and turns generation_config.json into
// the default sampling parameters.
#include <algorithm>
#include <chrono>
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

model::GridTHW to_grid(const VisualGrid& g) { return {g.t, g.h, g.w}; }

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
  std::unique_ptr<Backend> backend = make_backend(Device::parse(options.device), options.threads);
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
  }

  const ModelInfo& info() const override { return info_; }
  size_t free_memory() const override { return backend_->free_memory(); }

  void allocate_kv(int32_t capacity) override {
    kv_ = std::make_unique<model::KVCache>(*backend_, model_->config(), capacity);
  }

  PromptPositions positions(const std::vector<int32_t>& ids, const std::vector<StepItem>& items) override {
    std::vector<model::GridTHW> images, videos;
    for (const auto& item : items)
      (item.kind == VisualAttachment::Kind::Image ? images : videos).push_back(to_grid(item.grid));
    model::RopePositions rope = model::get_rope_index(ids, images, videos, model_->config());
    return {std::move(rope.positions), int32_t(rope.delta)};
  }

  void forward(StepBatch& batch, std::vector<float>& logits) override {
    LOUPE_CHECK(kv_ != nullptr, Internal, "forward before the KV pool was allocated");
    std::unordered_map<uint64_t, const StepItem*> encoded;  // same image twice in a step: one tower run
    for (StepItem* item : batch.items) {
      if (item->features) continue;
      if (auto same = encoded.find(item->hash); same != encoded.end()) {
        item->features = same->second->features;
        item->feature_bytes = same->second->feature_bytes;
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      std::shared_ptr<const model::VisionFeatures> features = model_->encode_vision(item->pixel_values, to_grid(item->grid));
      backend_->synchronize();
      item->vision_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      item->feature_bytes = features->bytes();
      item->features = std::move(features);
      encoded.emplace(item->hash, item);
    }
    model::ForwardBatch fb;
    fb.mode = batch.mode == StepMode::Extend ? model::ForwardMode::Extend : model::ForwardMode::Decode;
    fb.batch_size = batch.batch_size;
    fb.seq_lens = batch.seq_lens;
    fb.extend_prefix_lens = batch.extend_prefix_lens;
    fb.extend_seq_lens = batch.extend_seq_lens;
    fb.kv_slots = batch.kv_slots;
    fb.out_cache_loc = batch.out_cache_loc;
    fb.visual_item = batch.visual_item;
    fb.visual_row = batch.visual_row;
    std::vector<model::VisualItem> items(batch.items.size());
    for (size_t k = 0; k < items.size(); ++k) {
      items[k].id = int64_t(batch.items[k]->hash);
      items[k].grid = to_grid(batch.items[k]->grid);
      items[k].pixel_values = batch.items[k]->pixel_values;
      items[k].features = std::static_pointer_cast<const model::VisionFeatures>(batch.items[k]->features);
      fb.items.push_back(&items[k]);
    }
    fb.kv_cache = kv_.get();
    Tensor device_logits = model_->forward_logits(batch.input_ids, batch.positions, fb);
    sample_on_device(batch, device_logits);
    logits.clear();
  }

 private:
  // The step's tokens are drawn where the logits are (Backend::sample): a device backend
  // returns only ids; each request's Sampler supplies its row (penalties, its own RNG draw)
  // and records the pick, so results equal the host sampler's on the same logits.
  void sample_on_device(StepBatch& batch, Tensor logits) {
    const size_t rows = size_t(batch.batch_size);
    LOUPE_CHECK(batch.samplers.size() == rows, Internal, "step has ", batch.samplers.size(), " samplers for ",
                rows, " sequences");
    batch.next_tokens.assign(rows, -1);
    SamplingBatch sampling;
    bool any = false;
    for (Sampler* s : batch.samplers) {
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
      if (!batch.samplers[b]) continue;
      batch.samplers[b]->accept(ids[b]);
      batch.next_tokens[b] = ids[b];
    }
  }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<model::Qwen3VLModel> model_;
  std::unique_ptr<model::KVCache> kv_;
  ModelInfo info_;
};

}  // namespace

std::unique_ptr<ModelRunner> open_qwen3vl_runner(const std::string& model_dir, const EngineOptions& options) {
  return std::make_unique<Qwen3VLRunner>(model_dir, options);
}

}  // namespace loupe::engine
