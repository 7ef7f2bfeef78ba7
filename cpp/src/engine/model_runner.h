#pragma once
// What the scheduler needs from a model: static facts, M-RoPE positions for a whole
// prompt, a KV pool of a given size, and one batched forward step. The Qwen3-VL adapter
// (qwen3vl_runner.cpp) maps this onto model::Qwen3VLModel and model::ForwardBatch; tests
// drive the scheduler with a small deterministic model through the same interface.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "loupe/engine.h"

namespace loupe::engine {

class Sampler;

struct ModelInfo {
  int32_t vocab_size = 0;
  int32_t image_token_id = -1;
  int32_t video_token_id = -1;
  int32_t spatial_merge = 2;      // merged visual tokens = t*h*w / merge²
  int32_t patch_dim = 0;          // pixel_values row width (C*Tp*P*P)
  size_t kv_bytes_per_token = 0;  // all layers, K and V
  SamplingParams generation_defaults;
};

// One image or video of a request as the model sees it in a step.
struct StepItem {
  uint64_t hash = 0;
  VisualAttachment::Kind kind = VisualAttachment::Kind::Image;
  VisualGrid grid;
  const float* pixel_values = nullptr;    // null when features are given
  std::shared_ptr<const void> features;   // model-specific; filled by forward when null
  size_t feature_bytes = 0;               // set together with features
  double vision_ms = 0;                   // time forward spent computing features
};

enum class StepMode { Extend, Decode };

// One forward step over a batch (model_contract.md ForwardBatch, engine side).
struct StepBatch {
  StepMode mode = StepMode::Extend;
  int32_t batch_size = 0;
  // per sequence
  std::vector<int32_t> seq_lens;            // cached prefix + new tokens
  std::vector<int32_t> extend_prefix_lens;  // tokens already in the KV cache
  std::vector<int32_t> extend_seq_lens;     // new tokens this step (1 for decode)
  std::vector<const int32_t*> kv_slots;     // slot of every token [0, seq_lens[b])
  // per new token, flattened over the batch
  std::vector<int32_t> input_ids;
  std::vector<int32_t> positions;           // [3, n] M-RoPE rows (t, h, w)
  std::vector<int32_t> out_cache_loc;       // KV slot each new token writes
  std::vector<int32_t> visual_item;         // index into items, or -1 for text
  std::vector<int32_t> visual_row;          // merged-token row inside that item
  std::vector<StepItem*> items;
  // Sampling inside the runner (on the model's device, so only ids come back): samplers[b]
  // picks sequence b's next token, null when this step does not complete its prompt. A
  // runner that samples fills next_tokens [batch_size] (each already accepted by its
  // sampler, -1 where null) and may leave the logits empty; one that does not leaves
  // next_tokens empty and the engine samples the logits.
  std::vector<Sampler*> samplers;
  std::vector<int32_t> next_tokens;
};

// M-RoPE table of a whole prompt, computed once per request (spec §9.8).
struct PromptPositions {
  std::vector<int32_t> positions;  // [3, L]
  int32_t delta = 0;               // decode position of token i >= L is i + delta
};

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  virtual const ModelInfo& info() const = 0;
  // Bytes of device memory still free, for sizing the KV pool from a fraction.
  virtual size_t free_memory() const = 0;
  // Allocates the KV pool (called once, before any forward).
  virtual void allocate_kv(int32_t capacity_slots) = 0;
  virtual PromptPositions positions(const std::vector<int32_t>& input_ids,
                                    const std::vector<StepItem>& items) = 0;
  // Returns logits [batch_size, vocab] fp32 host for the last new token of each sequence,
  // or fills batch.next_tokens instead (see StepBatch::samplers).
  virtual void forward(StepBatch& batch, std::vector<float>& logits) = 0;
};

}  // namespace loupe::engine
