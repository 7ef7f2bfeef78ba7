#pragma once
// The processor step between the chat template and the tokenizer (HF Qwen3VLProcessor):
// every image placeholder becomes t·gh·gw/merge² <|image_pad|> tokens, and every video
// placeholder becomes, per temporal group, "<{time:.1f} seconds>" + <|vision_start|> +
// gh·gw/merge² <|video_pad|> + <|vision_end|>. Placeholders are replaced in order of
// appearance, images and videos each in the order they were given.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loupe/visual.h"

namespace loupe {

struct VideoPlaceholder {
  GridTHW grid;
  std::vector<double> timestamps;  // seconds, one per temporal group (grid.t of them)
};

struct VisionTokens {
  std::string image_pad = "<|image_pad|>";
  std::string video_pad = "<|video_pad|>";
  std::string vision_start = "<|vision_start|>";
  std::string vision_end = "<|vision_end|>";
  int merge_size = 2;
};

// Seconds of each temporal group: the mean of the first and last sampled frame time in
// the group (frame index / fps), the last frame repeated to fill the final group.
std::vector<double> video_group_timestamps(const std::vector<int64_t>& sampled_frame_indices, double fps,
                                           int temporal_patch_size);

// Number of placeholder tokens a grid expands to (all temporal groups).
int64_t vision_token_count(const GridTHW& grid, int merge_size = 2);

// Throws Error(InvalidArgument) when the number of placeholders in `prompt` differs from
// the images/videos given, or a grid is not divisible by the merge size.
std::string expand_vision_placeholders(std::string_view prompt, const std::vector<GridTHW>& images,
                                       const std::vector<VideoPlaceholder>& videos,
                                       const VisionTokens& tokens = {});

}  // namespace loupe
