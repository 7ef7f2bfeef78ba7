// Qwen3-VL image and video preprocessing: smart_resize -> antialiased bicubic resize ->
// fused rescale/normalise -> temporal padding -> merge-window patchify.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "image/patchify.h"
#include "image/resize.h"
#include "loupe/image.h"

namespace loupe {
namespace {

// Upper bound on a resize target, whatever the per-request overrides say: keeps a
// hostile min_pixels/max_pixels from asking for gigabytes of pixel_values.
constexpr int64_t kMaxTargetPixels = int64_t(1) << 27;

void check_options(const VisionOptions& o) {
  LOUPE_CHECK(o.patch_size > 0 && o.merge_size > 0 && o.temporal_patch_size > 0, InvalidArgument,
              "patch_size, merge_size and temporal_patch_size must be positive");
  LOUPE_CHECK(o.min_pixels > 0 && o.min_pixels <= o.max_pixels, InvalidArgument,
              "need 0 < min_pixels <= max_pixels, got ", o.min_pixels, " and ", o.max_pixels);
  LOUPE_CHECK(o.max_pixels <= kMaxTargetPixels, LimitExceeded, "max_pixels ", o.max_pixels,
              " is above the supported ", kMaxTargetPixels);
  for (int c = 0; c < 3; ++c)
    LOUPE_CHECK(o.image_std[c] != 0.0f, InvalidArgument, "image_std must be non-zero");
}

void check_image(const RgbImage& image) {
  LOUPE_CHECK(image.width > 0 && image.height > 0, BadImage, "image has no pixels (", image.width,
              "x", image.height, ")");
  LOUPE_CHECK(image.pixels.size() == static_cast<size_t>(image.width) * image.height * 3,
              InvalidArgument, "RGB image buffer holds ", image.pixels.size(), " bytes, expected ",
              static_cast<size_t>(image.width) * image.height * 3);
}

VisionInput patchify(const std::vector<const uint8_t*>& frames, int height, int width,
                     const VisionOptions& o) {
  LOUPE_CHECK(int64_t(height) * width <= kMaxTargetPixels, LimitExceeded, "resized frame ", width,
              "x", height, " is above the supported ", kMaxTargetPixels, " pixels");
  const imaging::PatchLayout layout{o.patch_size, o.temporal_patch_size, o.merge_size};
  VisionInput out;
  out.pixel_values = imaging::patchify_frames(frames, height, width, layout, o.image_mean,
                                              o.image_std);
  const int64_t frames_padded = (int64_t(frames.size()) + o.temporal_patch_size - 1) / o.temporal_patch_size;
  out.grid_thw = {frames_padded, height / o.patch_size, width / o.patch_size};
  out.patch_dim = int64_t(3) * o.temporal_patch_size * o.patch_size * o.patch_size;
  out.num_patches = out.grid_thw.patches();
  out.num_tokens = out.num_patches / (int64_t(o.merge_size) * o.merge_size);
  out.resized_height = height;
  out.resized_width = width;
  return out;
}

}  // namespace

VisionInput preprocess_image(const RgbImage& image, const VisionOptions& options) {
  check_options(options);
  check_image(image);
  const auto [h, w] = smart_resize(image.height, image.width,
                                   options.patch_size * options.merge_size, options.min_pixels,
                                   options.max_pixels, options.resize_reference);
  const imaging::ByteBuffer resized =
      options.resize_reference == ResizeReference::QwenVlUtils
          ? imaging::resize_bicubic_pillow(image.pixels.data(), image.height, image.width, 3, h, w)
          : imaging::resize_bicubic_aa(image.pixels.data(), image.height, image.width, 3, h, w);
  // A still image is one frame; patchify repeats it to fill the temporal patch.
  return patchify({resized.data()}, h, w, options);
}

std::vector<int64_t> sample_video_frames(int64_t total_frames, double source_fps,
                                         const VideoOptions& options) {
  LOUPE_CHECK(total_frames > 0, InvalidArgument, "video has no frames");
  LOUPE_CHECK(options.sample_fps > 0 && options.min_frames > 0 && options.max_frames >= options.min_frames,
              InvalidArgument, "video sampling needs sample_fps > 0 and 0 < min_frames <= max_frames");
  const double fps = source_fps > 0 ? source_fps : 24.0;  // HF's fallback for unknown fps
  int64_t n = static_cast<int64_t>(static_cast<double>(total_frames) / fps * options.sample_fps);
  n = std::min({std::max<int64_t>(n, options.min_frames), int64_t(options.max_frames), total_frames});
  // numpy: linspace(0, N-1, n) = i * ((N-1)/(n-1)) with the last element exactly N-1,
  // then np.round (half to even).
  std::vector<int64_t> indices(n);
  const double stop = static_cast<double>(total_frames - 1);
  const double step = n > 1 ? stop / static_cast<double>(n - 1) : 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = (n > 1 && i == n - 1) ? stop : static_cast<double>(i) * step;
    indices[i] = static_cast<int64_t>(std::nearbyint(v));
  }
  return indices;
}

std::string VideoInput::prompt_text() const {
  const int64_t per_group = grid_thw.t > 0 ? num_tokens / grid_thw.t : 0;
  std::string text;
  for (const std::string& stamp : timestamps) {
    text += stamp;
    text += "<|vision_start|>";
    for (int64_t i = 0; i < per_group; ++i) text += "<|video_pad|>";
    text += "<|vision_end|>";
  }
  return text;
}

VideoInput preprocess_video(const std::vector<RgbImage>& frames,
                            const std::vector<int64_t>& frame_indices, double source_fps,
                            const VideoOptions& options) {
  const VisionOptions& o = options.vision;
  check_options(o);
  LOUPE_CHECK(!frames.empty(), InvalidArgument, "video has no frames");
  LOUPE_CHECK(frame_indices.size() == frames.size(), InvalidArgument, "video has ", frames.size(),
              " frames but ", frame_indices.size(), " frame indices");
  for (const RgbImage& f : frames) {
    check_image(f);
    LOUPE_CHECK(f.width == frames[0].width && f.height == frames[0].height, InvalidArgument,
                "video frames differ in size: ", f.width, "x", f.height, " vs ", frames[0].width,
                "x", frames[0].height);
  }
  const auto [h, w] = smart_resize_video(static_cast<int>(frames.size()), frames[0].height,
                                         frames[0].width, options);
  std::vector<imaging::ByteBuffer> resized(frames.size());
  std::vector<const uint8_t*> views(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    resized[i] = imaging::resize_bicubic_aa(frames[i].pixels.data(), frames[i].height,
                                            frames[i].width, 3, h, w);
    views[i] = resized[i].data();
  }
  VideoInput out;
  static_cast<VisionInput&>(out) = patchify(views, h, w, o);

  // Timestamps: pad the indices like the frames, then average each temporal group.
  const double fps = source_fps > 0 ? source_fps : 24.0;
  std::vector<int64_t> idx = frame_indices;
  const size_t tp = static_cast<size_t>(o.temporal_patch_size);
  while (idx.size() % tp != 0) idx.push_back(idx.back());
  for (size_t g = 0; g < idx.size(); g += tp) {
    const double first = static_cast<double>(idx[g]) / fps;
    const double last = static_cast<double>(idx[g + tp - 1]) / fps;
    const double mid = (first + last) / 2;
    char buf[64];
    std::snprintf(buf, sizeof buf, "<%.1f seconds>", mid);
    out.group_seconds.push_back(mid);
    out.timestamps.emplace_back(buf);
  }
  return out;
}

}  // namespace loupe
