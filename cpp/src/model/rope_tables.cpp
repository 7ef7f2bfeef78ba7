#include "model/rope_tables.h"

#include <cmath>

#include "core/error.h"

namespace loupe::model {

std::vector<float> rope_inv_freq(double theta, int64_t dim) {
  std::vector<float> inv(dim / 2);
  for (int64_t j = 0; j < dim / 2; ++j) {
    const float exponent = float(2 * j) / float(dim);
    inv[j] = 1.0f / std::pow(float(theta), exponent);
  }
  return inv;
}

RopeTable mrope_table(std::span<const int32_t> positions, int64_t n, const TextConfig& config, MropeLayout layout) {
  LOUPE_CHECK(int64_t(positions.size()) == 3 * n, InvalidArgument, "M-RoPE positions must be [3, ", n, "], got ",
              positions.size(), " values");
  const int64_t half = config.head_dim / 2;
  const std::vector<float> inv = rope_inv_freq(config.rope_theta, config.head_dim);
  const auto& sec = config.mrope_section;
  std::vector<int> axis(half, 0);
  for (int64_t j = 0; j < half; ++j) {
    if (layout == MropeLayout::Interleaved) {
      if (j % 3 == 1 && j < 3 * sec[1]) axis[j] = 1;
      else if (j % 3 == 2 && j < 3 * sec[2]) axis[j] = 2;
    } else {
      axis[j] = j < sec[0] ? 0 : (j < sec[0] + sec[1] ? 1 : 2);
    }
  }
  RopeTable t;
  t.half = half;
  t.cos.resize(n * half);
  t.sin.resize(n * half);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < half; ++j) {
      const float angle = float(positions[axis[j] * n + i]) * inv[j];
      t.cos[i * half + j] = std::cos(angle);
      t.sin[i * half + j] = std::sin(angle);
    }
  return t;
}

std::vector<std::pair<int32_t, int32_t>> merge_window_coords(const GridTHW& g, int64_t m) {
  std::vector<std::pair<int32_t, int32_t>> out;
  out.reserve(g.patches());
  for (int64_t t = 0; t < g.t; ++t)
    for (int64_t br = 0; br < g.h / m; ++br)
      for (int64_t bc = 0; bc < g.w / m; ++bc)
        for (int64_t ir = 0; ir < m; ++ir)
          for (int64_t ic = 0; ic < m; ++ic) out.emplace_back(int32_t(br * m + ir), int32_t(bc * m + ic));
  return out;
}

RopeTable vision_rope_table(const GridTHW& grid, const VisionConfig& config) {
  const int64_t half = config.head_dim() / 2, quarter = half / 2;
  const std::vector<float> inv = rope_inv_freq(10000.0, half);  // theta_v is fixed in HF
  const auto coords = merge_window_coords(grid, config.spatial_merge_size);
  RopeTable t;
  t.half = half;
  t.cos.resize(coords.size() * half);
  t.sin.resize(coords.size() * half);
  for (size_t i = 0; i < coords.size(); ++i)
    for (int64_t j = 0; j < half; ++j) {
      const float pos = float(j < quarter ? coords[i].first : coords[i].second);
      const float angle = pos * inv[j % quarter];
      t.cos[i * half + j] = std::cos(angle);
      t.sin[i * half + j] = std::sin(angle);
    }
  return t;
}

}  // namespace loupe::model
