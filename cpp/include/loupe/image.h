#pragma once
// Public image and video input API: encoded bytes -> RGB8 image -> Qwen3-VL vision
// input (pixel_values, grid_thw, placeholder count), matching HuggingFace transformers
// 5.24 (Qwen2VLImageProcessor torchvision backend, Qwen3VLVideoProcessor).
// Failures throw loupe::Error with ErrorKind::BadImage (undecodable input) or
// ErrorKind::LimitExceeded (a configured limit was hit).
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "loupe/visual.h"

namespace loupe {

// Allocator whose value-initialisation is a no-op: pixel buffers are written in full by
// the preprocessor (in parallel), and zero-filling a 12 MP image's 288 MB of
// pixel_values first would cost more than computing them.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <class U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using FloatBuffer = std::vector<float, UninitializedAllocator<float>>;

// Safety limits for untrusted input, checked before any large allocation.
struct ImageLimits {
  size_t max_encoded_bytes = 32u << 20;     // 32 MiB per encoded image
  int64_t max_decoded_pixels = 50'000'000;  // width*height from the header, before decoding
  int max_side = 32768;                     // either dimension
  int max_images_per_request = 16;          // enforced by check_image_count()
};

enum class ImageFormat { Unknown, Jpeg, Png, Webp, Gif, Bmp };
const char* image_format_name(ImageFormat format);
// Identifies the container from its magic bytes; Unknown when none matches.
ImageFormat sniff_image_format(std::span<const uint8_t> bytes);

// 8-bit RGB, rows top to bottom, pixels interleaved (HWC).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // width*height*3
};

// Decodes JPEG, PNG, WebP, GIF (first frame) or BMP. Colour conversion follows HF's
// convert_to_rgb (Pillow): alpha and transparency are composited over white, greyscale
// and palette expand to RGB, 16-bit samples keep their high byte (16-bit greyscale
// saturates at 255 like Pillow's I;16 -> L). EXIF orientation (JPEG APP1, PNG eXIf, WebP
// EXIF) is applied, as transformers' load_image does for files and URLs.
// apply_exif_orientation false: pixels as stored, as Pillow's Image.open gives them
// (qwen-vl-utils, the embedding and reranker references, never transposes).
RgbImage decode_image(std::span<const uint8_t> bytes, const ImageLimits& limits = {},
                      bool apply_exif_orientation = true);

// Throws LimitExceeded when a request carries more images than allowed.
void check_image_count(size_t count, const ImageLimits& limits);

// Whose resize an image goes through: HF's image processor (smart_resize, then PyTorch's
// antialiased bicubic), or qwen-vl-utils' fetch_image (its smart_resize, which keeps each
// side at least one factor, then Pillow's BICUBIC), which the Qwen3-VL embedding and
// reranker references run before the processor (which then does not resize).
enum class ResizeReference : uint8_t { HfProcessor, QwenVlUtils };

// Qwen3-VL vision preprocessing settings (preprocessor_config.json defaults).
struct VisionOptions {
  int64_t min_pixels = 65536;      // size.shortest_edge
  int64_t max_pixels = 16777216;   // size.longest_edge
  int patch_size = 16;
  int temporal_patch_size = 2;
  int merge_size = 2;
  std::array<float, 3> image_mean{0.5f, 0.5f, 0.5f};
  std::array<float, 3> image_std{0.5f, 0.5f, 0.5f};
  ResizeReference resize_reference = ResizeReference::HfProcessor;
};

struct VisionInput {
  FloatBuffer pixel_values;           // [num_patches, patch_dim] row-major
  int64_t num_patches = 0;
  int64_t patch_dim = 0;              // 3 * temporal_patch_size * patch_size^2 (1536)
  GridTHW grid_thw;                   // in patches
  int64_t num_tokens = 0;             // <|image_pad|> / <|video_pad|> count = t*h*w/merge^2
  int resized_height = 0;
  int resized_width = 0;
};

// HF smart_resize (image variant): target {height, width}, multiples of
// patch_size*merge_size within [min_pixels, max_pixels]. InvalidArgument for an aspect
// ratio above 200.
std::array<int, 2> smart_resize(int height, int width, int factor, int64_t min_pixels,
                                int64_t max_pixels,
                                ResizeReference reference = ResizeReference::HfProcessor);

VisionInput preprocess_image(const RgbImage& image, const VisionOptions& options = {});

// Video settings (video_preprocessor_config.json defaults); min/max pixels are a budget
// over all sampled frames.
struct VideoOptions {
  VisionOptions vision{4096, 25165824};
  double sample_fps = 2.0;
  int min_frames = 4;
  int max_frames = 768;
  // HF's cap_pixels_per_frame (unset = off in transformers 5.24): limit each frame to
  // max_video_tokens merged tokens, as qwen-vl-utils does.
  bool cap_pixels_per_frame = false;
  int max_video_tokens = 768;
};

// HF Qwen3VLVideoProcessor.sample_frames: indices into a clip of total_frames frames at
// source_fps (<= 0: unknown, HF assumes 24).
std::vector<int64_t> sample_video_frames(int64_t total_frames, double source_fps,
                                         const VideoOptions& options = {});

// HF video smart_resize: one {height, width} for all num_frames frames.
std::array<int, 2> smart_resize_video(int num_frames, int height, int width,
                                      const VideoOptions& options = {});

struct VideoInput : VisionInput {
  std::vector<double> group_seconds;   // mid time of each temporal group
  std::vector<std::string> timestamps; // "<1.2 seconds>" per temporal group
  // The prompt text that replaces <|vision_start|><|video_pad|><|vision_end|>.
  std::string prompt_text() const;
};

// frames: the sampled frames (all the same size); frame_indices: their indices in the
// source clip (same length); source_fps: the clip's frame rate (<= 0: 24).
VideoInput preprocess_video(const std::vector<RgbImage>& frames,
                            const std::vector<int64_t>& frame_indices, double source_fps,
                            const VideoOptions& options = {});

}  // namespace loupe
