// HF smart_resize for images (qwen2_vl/image_processing_qwen2_vl.py) and videos
// (qwen3_vl/video_processing_qwen3_vl.py), transformers 5.24. Arithmetic mirrors the
// Python in IEEE double; Python's round() is round-half-to-even (std::nearbyint).
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "loupe/image.h"

namespace loupe {
namespace {

constexpr double kMaxAspectRatio = 200.0;

void check_aspect(int64_t h, int64_t w) {
  const double ratio = static_cast<double>(std::max(h, w)) / static_cast<double>(std::min(h, w));
  LOUPE_CHECK(ratio <= kMaxAspectRatio, BadImage, "image aspect ratio ", ratio, " (", w, "x", h,
              ") exceeds the model's limit of 200");
}

// Shared tail of both variants: frames = 1 and t_bar = 1 for images.
// qwen-vl-utils rounds each side to at least one factor before the budget checks (HF
// rounds a side of half a factor or less to 0 there).
std::array<int, 2> fit_budget(int64_t h, int64_t w, double frames, int64_t t_bar, int factor,
                              int64_t min_pixels, int64_t max_pixels, bool at_least_one_factor = false) {
  const double f = factor;
  int64_t h_bar = static_cast<int64_t>(std::nearbyint(h / f)) * factor;
  int64_t w_bar = static_cast<int64_t>(std::nearbyint(w / f)) * factor;
  if (at_least_one_factor) {
    h_bar = std::max<int64_t>(factor, h_bar);
    w_bar = std::max<int64_t>(factor, w_bar);
  }
  if (t_bar * h_bar * w_bar > max_pixels) {
    const double beta = std::sqrt(frames * static_cast<double>(h * w) / static_cast<double>(max_pixels));
    h_bar = std::max<int64_t>(factor, static_cast<int64_t>(std::floor(h / beta / f)) * factor);
    w_bar = std::max<int64_t>(factor, static_cast<int64_t>(std::floor(w / beta / f)) * factor);
  } else if (t_bar * h_bar * w_bar < min_pixels) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) / (frames * static_cast<double>(h * w)));
    h_bar = static_cast<int64_t>(std::ceil(h * beta / f)) * factor;
    w_bar = static_cast<int64_t>(std::ceil(w * beta / f)) * factor;
  }
  return {static_cast<int>(h_bar), static_cast<int>(w_bar)};
}

}  // namespace

std::array<int, 2> smart_resize(int height, int width, int factor, int64_t min_pixels,
                                int64_t max_pixels, ResizeReference reference) {
  LOUPE_CHECK(height > 0 && width > 0, BadImage, "image has no pixels (", width, "x", height, ")");
  LOUPE_CHECK(factor > 0 && min_pixels > 0 && max_pixels >= min_pixels, InvalidArgument,
              "smart_resize: need factor > 0 and 0 < min_pixels <= max_pixels, got factor ", factor,
              ", min_pixels ", min_pixels, ", max_pixels ", max_pixels);
  check_aspect(height, width);
  // Python computes (height * width) / max_pixels on ints: exact here too below 2^53.
  // Beyond the budget both keep each side at least one factor (qwen-vl-utils would fail
  // there on a side of 0; HF guards it).
  return fit_budget(height, width, 1.0, 1, factor, min_pixels, max_pixels,
                    reference == ResizeReference::QwenVlUtils);
}

std::array<int, 2> smart_resize_video(int num_frames, int height, int width,
                                      const VideoOptions& options) {
  const VisionOptions& v = options.vision;
  const int factor = v.patch_size * v.merge_size;
  const int temporal = v.temporal_patch_size;
  LOUPE_CHECK(num_frames >= temporal, InvalidArgument, "a video needs at least ", temporal,
              " frames, got ", num_frames);
  LOUPE_CHECK(height > 0 && width > 0, BadImage, "video frame has no pixels (", width, "x", height, ")");
  LOUPE_CHECK(factor > 0 && v.min_pixels > 0 && v.max_pixels >= v.min_pixels, InvalidArgument,
              "smart_resize_video: need 0 < min_pixels <= max_pixels");
  int64_t max_pixels = v.max_pixels;
  if (options.cap_pixels_per_frame) {
    // qwen-vl-utils style per-frame cap (HF cap_pixels_per_frame=True).
    const int64_t frame_cap = int64_t(options.max_video_tokens) * factor * factor;
    const int64_t per_frame = std::max<int64_t>(std::min<int64_t>(frame_cap, v.max_pixels / num_frames),
                                                static_cast<int64_t>(v.min_pixels * 1.05));
    max_pixels = per_frame * num_frames;
  }
  int64_t h = height, w = width;
  if (h < factor || w < factor) {
    // Newest HF video rule: upscale so the short side reaches one factor (int() truncates).
    const double s = std::max(static_cast<double>(factor) / h, static_cast<double>(factor) / w);
    h = static_cast<int64_t>(h * s);
    w = static_cast<int64_t>(w * s);
  }
  check_aspect(h, w);
  const int64_t t_bar = static_cast<int64_t>(std::nearbyint(static_cast<double>(num_frames) / temporal)) * temporal;
  return fit_budget(h, w, num_frames, t_bar, factor, v.min_pixels, max_pixels);
}

}  // namespace loupe
