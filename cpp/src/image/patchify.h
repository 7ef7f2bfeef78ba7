#pragma once
// Normalise and patchify resized uint8 frames into Qwen-VL pixel_values rows.
#include <array>
#include <cstdint>
#include <vector>

#include "loupe/image.h"

namespace loupe::imaging {

struct PatchLayout {
  int patch_size = 16;
  int temporal_patch_size = 2;
  int merge_size = 2;
};

// frames: num_frames interleaved RGB8 images of height x width (each a multiple of
// patch_size*merge_size). Frames are padded to a multiple of temporal_patch_size by
// repeating the last one. Each uint8 value v becomes (float(v) - mean'[c]) / std'[c]
// in float32, with mean' = mean*255 and std' = std*255 as HF fuses rescale+normalise.
// Rows are in merge-window order (t, block row, block col, intra row, intra col);
// columns are (channel, temporal, pixel row, pixel col), as the Conv3d weight flattens.
FloatBuffer patchify_frames(const std::vector<const uint8_t*>& frames, int height,
                                   int width, const PatchLayout& layout,
                                   const std::array<float, 3>& mean,
                                   const std::array<float, 3>& std);

}  // namespace loupe::imaging
