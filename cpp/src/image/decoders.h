#pragma once
// Per-format decoders behind decode_image(). Each validates the header against the
// limits before allocating pixel memory and returns RGB8 plus the EXIF orientation tag
// it found (1 = upright), so orientation is applied once, in one place.
#include <cstdint>
#include <span>

#include "loupe/image.h"

namespace loupe::imaging {

struct DecodedImage {
  RgbImage image;
  int orientation = 1;  // EXIF tag 0x0112, 1..8
};

DecodedImage decode_jpeg(std::span<const uint8_t> bytes, const ImageLimits& limits);
DecodedImage decode_png(std::span<const uint8_t> bytes, const ImageLimits& limits);
DecodedImage decode_webp(std::span<const uint8_t> bytes, const ImageLimits& limits);
DecodedImage decode_gif(std::span<const uint8_t> bytes, const ImageLimits& limits);
DecodedImage decode_bmp(std::span<const uint8_t> bytes, const ImageLimits& limits);

// Throws LimitExceeded (or BadImage for zero/negative sizes) for header dimensions
// outside the limits; call before allocating width*height anything.
void check_dimensions(int64_t width, int64_t height, const ImageLimits& limits, const char* format);

// Allocates an RgbImage after check_dimensions has passed.
RgbImage make_rgb(int width, int height);

}  // namespace loupe::imaging
