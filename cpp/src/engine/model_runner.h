#pragma once
// What the scheduler needs from a model: static facts, M-RoPE positions for a whole
// prompt, a KV pool of a given size, and one batched forward step. The scheduler builds
// the model's own model::ForwardBatch; the Qwen3-VL adapter (qwen3vl_runner.cpp) hands it
// to model::Qwen3VLModel; tests drive the scheduler with a small deterministic model
// through the same interface.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "loupe/engine.h"
#include "model/forward_batch.h"

namespace loupe::engine {

class Sampler;

struct RunnerInfo {
  int32_t vocab_size = 0;
  int32_t image_token_id = -1;
  int32_t video_token_id = -1;
  int32_t spatial_merge = 2;      // merged visual tokens = t*h*w / merge²
  int32_t patch_dim = 0;          // pixel_values row width (C*Tp*P*P)
  size_t kv_bytes_per_token = 0;  // all layers, K and V
  int32_t hidden_size = 0;        // width of h, the vector PoolingParams::Embedding returns
  bool can_generate = true;       // false: no output head (an embedding checkpoint without lm_head)
  SamplingParams generation_defaults;
};

using model::ForwardBatch;
using model::ForwardMode;
using model::VisualItem;

// One scheduler step: the model's batch, its inputs, and who samples each sequence.
struct Step {
  ForwardBatch batch;
  std::vector<int32_t> input_ids;  // per new token, flattened over the batch
  std::vector<int32_t> positions;  // [3, n] M-RoPE rows (t, h, w)
  // Sampling inside the runner (on the model's device, so only ids come back): samplers[b]
  // picks sequence b's next token, null when this step does not complete its prompt. A
  // runner that samples fills next_tokens [batch_size] (each already accepted by its
  // sampler, -1 where null) and may leave the logits empty; one that does not leaves
  // next_tokens empty and the engine samples the logits.
  std::vector<Sampler*> samplers;
  std::vector<int32_t> next_tokens;
  // Prefill-only sequences: pooling[b] is set when this step completes sequence b's prompt
  // and it wants a vector or score instead of a token (its sampler is then null). The
  // runner fills pooled[b] (Result::embedding, or {score}) for those rows.
  std::vector<const PoolingParams*> pooling;
  std::vector<std::vector<float>> pooled;
};

// M-RoPE table of a whole prompt, computed once per request (spec §9.8).
struct PromptPositions {
  std::vector<int32_t> positions;  // [3, L]
  int32_t delta = 0;               // decode position of token i >= L is i + delta
};

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  virtual const RunnerInfo& info() const = 0;
  // Bytes of device memory still free, for sizing the KV pool from a fraction.
  virtual size_t free_memory() const = 0;
  // Allocates the KV pool (called once, before any forward).
  virtual void allocate_kv(int32_t capacity_slots) = 0;
  virtual PromptPositions positions(const std::vector<int32_t>& input_ids,
                                    const std::vector<VisualItem>& items) = 0;
  // Returns logits [batch_size, vocab] fp32 host for the last new token of each sequence,
  // or fills step.next_tokens instead (see Step::samplers).
  virtual void forward(Step& step, std::vector<float>& logits) = 0;
};

}  // namespace loupe::engine
