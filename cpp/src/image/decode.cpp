// decode_image(): size limits, format sniffing, per-format decoding, EXIF orientation.
#include <cstring>

#include "core/error.h"
#include "image/decoders.h"
#include "image/exif.h"
#include "loupe/image.h"

namespace loupe {

const char* image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::Jpeg: return "JPEG";
    case ImageFormat::Png: return "PNG";
    case ImageFormat::Webp: return "WebP";
    case ImageFormat::Gif: return "GIF";
    case ImageFormat::Bmp: return "BMP";
    case ImageFormat::Unknown: break;
  }
  return "unknown";
}

ImageFormat sniff_image_format(std::span<const uint8_t> b) {
  auto starts = [&](const char* magic, size_t n, size_t at = 0) {
    return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
  };
  if (starts("\xFF\xD8\xFF", 3)) return ImageFormat::Jpeg;
  if (starts("\x89PNG\r\n\x1A\n", 8)) return ImageFormat::Png;
  if (starts("RIFF", 4) && starts("WEBP", 4, 8)) return ImageFormat::Webp;
  if (starts("GIF87a", 6) || starts("GIF89a", 6)) return ImageFormat::Gif;
  if (starts("BM", 2) && b.size() >= 18) return ImageFormat::Bmp;
  return ImageFormat::Unknown;
}

RgbImage decode_image(std::span<const uint8_t> bytes, const ImageLimits& limits, bool apply_exif_orientation) {
  LOUPE_CHECK(!bytes.empty(), BadImage, "image is empty (0 bytes)");
  LOUPE_CHECK(bytes.size() <= limits.max_encoded_bytes, LimitExceeded, "encoded image is ",
              bytes.size(), " bytes, above the limit of ", limits.max_encoded_bytes);
  imaging::DecodedImage decoded;
  switch (sniff_image_format(bytes)) {
    case ImageFormat::Jpeg: decoded = imaging::decode_jpeg(bytes, limits); break;
    case ImageFormat::Png: decoded = imaging::decode_png(bytes, limits); break;
    case ImageFormat::Webp: decoded = imaging::decode_webp(bytes, limits); break;
    case ImageFormat::Gif: decoded = imaging::decode_gif(bytes, limits); break;
    case ImageFormat::Bmp: decoded = imaging::decode_bmp(bytes, limits); break;
    case ImageFormat::Unknown:
      LOUPE_FAIL(BadImage, "unrecognised image format (supported: JPEG, PNG, WebP, GIF, BMP)");
  }
  if (!apply_exif_orientation) return std::move(decoded.image);
  return imaging::apply_orientation(std::move(decoded.image), decoded.orientation);
}

void check_image_count(size_t count, const ImageLimits& limits) {
  LOUPE_CHECK(count <= static_cast<size_t>(std::max(limits.max_images_per_request, 0)), LimitExceeded,
              "request has ", count, " images, above the limit of ", limits.max_images_per_request);
}

namespace imaging {

void check_dimensions(int64_t width, int64_t height, const ImageLimits& limits, const char* format) {
  LOUPE_CHECK(width > 0 && height > 0, BadImage, format, " header declares an empty image (", width,
              "x", height, ")");
  LOUPE_CHECK(width <= limits.max_side && height <= limits.max_side, LimitExceeded, format, " image is ",
              width, "x", height, ", a side above the limit of ", limits.max_side);
  LOUPE_CHECK(width * height <= limits.max_decoded_pixels, LimitExceeded, format, " image is ", width,
              "x", height, " = ", width * height, " pixels, above the limit of ",
              limits.max_decoded_pixels);
}

RgbImage make_rgb(int width, int height) {
  RgbImage image;
  image.width = width;
  image.height = height;
  image.pixels.resize(static_cast<size_t>(width) * height * 3);
  return image;
}

}  // namespace imaging
}  // namespace loupe
