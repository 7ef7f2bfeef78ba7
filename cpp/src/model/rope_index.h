#pragma once
// get_rope_index (spec §9): M-RoPE positions [3, L] for a whole prompt plus the delta that
// decode adds (p_t = p_h = p_w = index + delta). Images and videos are consumed in prompt
// order; a video grid (T, H, W) is split into T groups (1, H, W), each its own visual block
// (timestamps are ordinary text between them). Computed once per request, never per chunk.
#include <cstdint>
#include <span>
#include <vector>

#include "model/config.h"

namespace loupe::model {

struct RopePositions {
  std::vector<int32_t> positions;  // [3, L] row-major: t row, h row, w row
  int64_t delta = 0;               // max(position) + 1 - L
  int64_t length() const { return int64_t(positions.size() / 3); }
};

RopePositions get_rope_index(std::span<const int32_t> input_ids, const std::vector<GridTHW>& image_grids,
                             const std::vector<GridTHW>& video_grids, const ModelConfig& config);

// Text-only positions for tokens [start, start + n) of a sequence whose prompt had `delta`.
RopePositions decode_positions(int64_t start, int64_t n, int64_t delta);

}  // namespace loupe::model
