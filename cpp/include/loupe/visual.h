#pragma once
// The shape of one image or video as every layer sees it: the kind of its placeholder run
// and its patch grid (HF's grid_thw).
#include <cstdint>

namespace loupe {

enum class VisualKind : uint8_t { Image, Video };

// Patch grid: temporal groups, height and width in patches.
struct GridTHW {
  int64_t t = 1, h = 0, w = 0;
  int64_t patches() const { return t * h * w; }
  // Tokens after the merge x merge patch merger.
  int64_t merged_tokens(int64_t merge) const { return t * (h / merge) * (w / merge); }
  bool operator==(const GridTHW&) const = default;
};

}  // namespace loupe
