#pragma once
// Which visual item, and which merged-token row of it, each placeholder token of a prompt
// stands for. The one placeholder rule of the runtime: the scheduler maps every request
// with it and the model tests build their batches with it.
#include <cstdint>
#include <span>
#include <vector>

#include "engine/model_runner.h"

namespace loupe::engine {

struct VisualTokenMap {
  std::vector<int32_t> visual_item;  // per token: index into the items, -1 for text
  std::vector<int32_t> visual_row;   // per token: merged-token row inside that item
};

// Items are in the order their placeholder runs appear in the ids. An image's run is
// t*h*w / merge² `<|image_pad|>` ids with nothing between them; a video's run is the same
// count of `<|video_pad|>` ids, which text (its timestamps) may interrupt only between
// frame groups. Any other layout, a kind that differs from its run, or a count that
// differs from the grid is Error(InvalidArgument), as HF's processor refuses it.
VisualTokenMap map_visual_tokens(std::span<const int32_t> ids, std::span<const VisualItem> items,
                                 const RunnerInfo& info);

}  // namespace loupe::engine
