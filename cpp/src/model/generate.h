#pragma once
// Single-request greedy generation through the model's own KV-cache path: a contiguous
// slot range, optional chunked prefill, decode with positions index + delta. Used by
// loupe-run and the parity tests; the engine has its own scheduler.
#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "model/qwen3_vl.h"

namespace loupe::model {

struct VisualInput {
  const float* pixel_values = nullptr;  // [grid.patches(), patch_dim] host fp32
  GridTHW grid;
};

struct Prompt {
  std::vector<int32_t> input_ids;
  std::vector<VisualInput> images, videos;  // prompt order within each kind
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

GenerateResult greedy_generate(Qwen3VLModel& model, const Prompt& prompt, const GenerateOptions& options);

int32_t argmax(std::span<const float> logits);

}  // namespace loupe::model
