#include "image/patchify.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace loupe::imaging {

FloatBuffer patchify_frames(const std::vector<const uint8_t*>& frames, int height,
                                   int width, const PatchLayout& layout,
                                   const std::array<float, 3>& mean,
                                   const std::array<float, 3>& std) {
  const int P = layout.patch_size, Tp = layout.temporal_patch_size, M = layout.merge_size;
  LOUPE_CHECK(P > 0 && Tp > 0 && M > 0, InvalidArgument, "patchify: sizes must be positive");
  LOUPE_CHECK(!frames.empty(), InvalidArgument, "patchify: no frames");
  LOUPE_CHECK(height % (P * M) == 0 && width % (P * M) == 0, InvalidArgument,
              "patchify: ", width, "x", height, " is not a multiple of ", P * M);
  constexpr int C = 3;
  // Per-channel lookup table: the float32 result HF computes for every byte value.
  float lut[C][256];
  for (int c = 0; c < C; ++c) {
    const float m = mean[c] * static_cast<float>(1.0 / (1.0 / 255.0));
    const float s = std[c] * static_cast<float>(1.0 / (1.0 / 255.0));
    for (int v = 0; v < 256; ++v) lut[c][v] = (static_cast<float>(v) - m) / s;
  }
  const int num_frames = static_cast<int>(frames.size());
  const int gt = (num_frames + Tp - 1) / Tp;
  const int gh = height / P, gw = width / P;
  const int64_t patch_dim = int64_t(C) * Tp * P * P;
  const int64_t patches_per_t = int64_t(gh) * gw;
  FloatBuffer out(static_cast<size_t>(gt * patches_per_t * patch_dim));

  for (int t = 0; t < gt; ++t) {
    for (int64_t n = 0; n < patches_per_t; ++n) {
      // n enumerates (block row, block col, intra row, intra col).
      const int64_t window = n / (M * M);
      const int within = static_cast<int>(n % (M * M));
      const int row = static_cast<int>(window / (gw / M)) * M + within / M;
      const int col = static_cast<int>(window % (gw / M)) * M + within % M;
      float* dst = &out[static_cast<size_t>((t * patches_per_t + n) * patch_dim)];
      for (int c = 0; c < C; ++c) {
        for (int tt = 0; tt < Tp; ++tt) {
          const int f = std::min(t * Tp + tt, num_frames - 1);  // pad with the last frame
          if (tt > 0 && f == std::min(t * Tp + tt - 1, num_frames - 1)) {
            // Same frame as the previous temporal slot (a still image, or padding).
            std::memcpy(dst, dst - P * P, sizeof(float) * P * P);
            dst += P * P;
            continue;
          }
          const uint8_t* frame = frames[f];
          for (int py = 0; py < P; ++py) {
            const uint8_t* src = frame + (static_cast<size_t>(row * P + py) * width + col * P) * C + c;
            for (int px = 0; px < P; ++px) *dst++ = lut[c][src[px * C]];
          }
        }
      }
    }
  }
  return out;
}

}  // namespace loupe::imaging
