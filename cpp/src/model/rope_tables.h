#pragma once
// Host-side cos/sin tables for the rotate-half RoPE op (Backend::rope takes [n, hd/2]).
#include <cstdint>
#include <span>
#include <vector>

#include "model/config.h"

namespace loupe::model {

struct RopeTable {
  std::vector<float> cos, sin;  // [n, half]
  int64_t half = 0;
};

// HF inv_freq: 1 / theta^(2j / dim) for j in [0, dim/2), in float32 like torch.
std::vector<float> rope_inv_freq(double theta, int64_t dim);

enum class MropeLayout { Interleaved, Blocked };  // Qwen3-VL is interleaved; Blocked is Qwen2-VL's (for tests)

// Text M-RoPE: positions [3, n] (t, h, w rows); frequency j uses the axis given by the
// interleaved THW pattern over mrope_section (spec §8.4).
RopeTable mrope_table(std::span<const int32_t> positions, int64_t n, const TextConfig& config,
                      MropeLayout layout = MropeLayout::Interleaved);

// Vision 2-D RoPE for one item in merge-window order (spec §6.4): the first dv/4 angles use
// the patch row, the next dv/4 the patch column; repeated for every temporal index.
RopeTable vision_rope_table(const GridTHW& grid, const VisionConfig& config);

// (row, col) of every patch of `grid` in merge-window order (t, br, bc, ir, ic).
std::vector<std::pair<int32_t, int32_t>> merge_window_coords(const GridTHW& grid, int64_t merge);

}  // namespace loupe::model
