// libFuzzer entry: arbitrary bytes -> decode_image -> preprocess_image, through both resize
// references (HF's processor for captions, qwen-vl-utils' for embeddings). Any loupe::Error
// is an accepted outcome; a crash, sanitizer report, leak, other exception or timeout
// is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.h"
#include "loupe/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small limits keep each run fast; the checks they exercise are the same as in production.
  loupe::ImageLimits limits;
  limits.max_encoded_bytes = 1 << 20;
  limits.max_decoded_pixels = 1 << 20;
  limits.max_side = 8192;
  loupe::VisionOptions options;
  options.min_pixels = 1024;
  options.max_pixels = 16384;
  // The last byte picks the path, so the corpus reaches both.
  const bool retrieval = size > 0 && (data[size - 1] & 1);
  if (retrieval) options.resize_reference = loupe::ResizeReference::QwenVlUtils;
  try {
    const loupe::RgbImage image = loupe::decode_image(std::span<const uint8_t>(data, size), limits, !retrieval);
    const loupe::VisionInput input = loupe::preprocess_image(image, options);
    if (input.pixel_values.size() != static_cast<size_t>(input.num_patches * input.patch_dim)) __builtin_trap();
  } catch (const loupe::Error&) {
  }
  return 0;
}
