#pragma once
// Test harness: one request's greedy generation driven straight through the model's
// KV-cache path (contiguous slots, optional chunked prefill, decode at index + delta), so the
// model parity tests check the forward pass alone. Production generates through the engine's
// scheduler, which tests/engine/test_engine_golden.cpp checks against the same goldens.
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/visual_tokens.h"
#include "model/qwen3_vl.h"

namespace loupe::model {

// An item of a prompt: pixels [grid.patches(), patch_dim] host fp32 and their grid.
inline VisualItem visual_item(const float* pixel_values, GridTHW grid, VisualKind kind = VisualKind::Image) {
  VisualItem item;
  item.kind = kind;
  item.grid = grid;
  item.pixel_values = pixel_values;
  return item;
}

struct Prompt {
  std::vector<int32_t> input_ids;
  std::vector<VisualItem> images, videos;  // prompt order within each kind
};

struct GenerateOptions {
  int max_new_tokens = 16;
  std::vector<int32_t> stop_ids;  // generation stops after emitting one of these
  int prefill_chunk = 0;          // >0: prefill in chunks of this many tokens
};

struct GenerateResult {
  std::vector<int32_t> tokens;      // generated ids (including a final stop id)
  std::vector<float> prefill_logits;  // logits after the prompt
  int64_t rope_delta = 0;
  double vision_ms = 0, prefill_ms = 0, decode_ms = 0;
};

// The engine's placeholder mapping for a prompt whose images all come before its videos
// (as in every golden case); items are numbered in that order.
engine::VisualTokenMap map_visual_tokens(std::span<const int32_t> input_ids, const std::vector<GridTHW>& image_grids,
                                         const std::vector<GridTHW>& video_grids, const ModelConfig& config);

// One sequence's decode step: the token at position `len` written to slots[len].
ForwardBatch single_decode_batch(int64_t len, const int32_t* slots, KVCache& cache);

GenerateResult greedy_generate(Qwen3VLModel& model, const Prompt& prompt, const GenerateOptions& options);

int32_t argmax(std::span<const float> logits);

}  // namespace loupe::model
