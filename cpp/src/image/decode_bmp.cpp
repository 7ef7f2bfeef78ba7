// BMP: a small parser instead of a general-purpose library. BMP is trivial to read but
// its headers are easy to lie with, so every field is validated before use and only the
// layouts cameras, scanners and Windows tools actually write are accepted:
// uncompressed 1/4/8-bit palette, 24-bit BGR, 32-bit BGRX, and 32-bit BI_BITFIELDS with
// byte-aligned BGR(A) masks. RLE, 16-bit, JPEG/PNG-in-BMP and OS/2 v2 headers are refused.
// Colours follow Pillow: 32-bit BI_RGB ignores the fourth byte; an alpha mask makes the
// image RGBA, which HF composites over white.
#include <array>
#include <cstring>

#include "core/error.h"
#include "image/color.h"
#include "image/decoders.h"

namespace loupe::imaging {
namespace {

constexpr uint32_t kBiRgb = 0, kBiBitfields = 3;

uint32_t u16(const uint8_t* p) { return p[0] | (p[1] << 8); }
uint32_t u32(const uint8_t* p) { return u16(p) | (u16(p + 2) << 16); }
int32_t s32(const uint8_t* p) { return static_cast<int32_t>(u32(p)); }

}  // namespace

DecodedImage decode_bmp(std::span<const uint8_t> bytes, const ImageLimits& limits) {
  const size_t size = bytes.size();
  const uint8_t* b = bytes.data();
  LOUPE_CHECK(size >= 26, BadImage, "invalid BMP: file is truncated");
  const uint32_t data_offset = u32(b + 10);
  const uint32_t header_size = u32(b + 14);
  LOUPE_CHECK(header_size == 12 || header_size == 40 || header_size == 52 || header_size == 56 ||
                  header_size == 108 || header_size == 124,
              BadImage, "unsupported BMP header size ", header_size);
  LOUPE_CHECK(size >= 14 + size_t(header_size), BadImage, "invalid BMP: file is truncated");
  const uint8_t* h = b + 14;
  int64_t width, height;
  uint32_t bpp, compression = kBiRgb, colours_used = 0;
  if (header_size == 12) {  // OS/2 core header: 16-bit sizes, BGR palette triples
    width = u16(h + 4);
    height = static_cast<int16_t>(u16(h + 6));
    bpp = u16(h + 10);
  } else {
    width = s32(h + 4);
    height = s32(h + 8);
    bpp = u16(h + 14);
    compression = u32(h + 16);
    colours_used = u32(h + 32);
  }
  const bool top_down = height < 0;
  if (top_down) height = -height;
  LOUPE_CHECK(width > 0 && height > 0, BadImage, "invalid BMP: dimensions ", width, "x", height);
  check_dimensions(width, height, limits, "BMP");

  // Channel masks for 32-bit BI_BITFIELDS (inside v3+ headers, else right after v1).
  bool has_alpha = false;
  if (compression == kBiBitfields) {
    LOUPE_CHECK(bpp == 32, BadImage, "unsupported BMP: ", bpp, "-bit BI_BITFIELDS");
    const size_t masks_at = 14 + 40;
    LOUPE_CHECK(size >= masks_at + 12, BadImage, "invalid BMP: file is truncated");
    const uint32_t r = u32(b + masks_at), g = u32(b + masks_at + 4), bl = u32(b + masks_at + 8);
    const uint32_t a = header_size >= 56 ? u32(b + masks_at + 12) : 0;
    LOUPE_CHECK(r == 0xFF0000 && g == 0xFF00 && bl == 0xFF && (a == 0 || a == 0xFF000000), BadImage,
                "unsupported BMP channel masks");
    has_alpha = a != 0;
  } else {
    LOUPE_CHECK(compression == kBiRgb, BadImage, "unsupported BMP compression ", compression);
    LOUPE_CHECK(bpp == 1 || bpp == 4 || bpp == 8 || bpp == 24 || bpp == 32, BadImage,
                "unsupported BMP bit depth ", bpp);
  }

  // Palette: BGRX quads (BGR triples for OS/2), after the header and any v1 masks.
  std::array<std::array<uint8_t, 3>, 256> palette{};
  if (bpp <= 8) {
    const size_t entry = header_size == 12 ? 3 : 4;
    const size_t max_colours = size_t(1) << bpp;
    const size_t count = colours_used == 0 ? max_colours : std::min<size_t>(colours_used, max_colours);
    const size_t at = 14 + header_size;
    LOUPE_CHECK(size >= at + count * entry, BadImage, "invalid BMP: palette is truncated");
    for (size_t i = 0; i < count; ++i) {
      const uint8_t* e = b + at + i * entry;
      palette[i] = {e[2], e[1], e[0]};
    }
  }

  const size_t stride = ((static_cast<size_t>(width) * bpp + 31) / 32) * 4;
  LOUPE_CHECK(data_offset >= 14 + header_size && data_offset <= size &&
                  (size - data_offset) / stride >= static_cast<size_t>(height),
              BadImage, "invalid BMP: pixel data is truncated or misplaced");

  DecodedImage out;
  out.image = make_rgb(static_cast<int>(width), static_cast<int>(height));
  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* row = b + data_offset + stride * static_cast<size_t>(top_down ? y : height - 1 - y);
    uint8_t* dst = &out.image.pixels[static_cast<size_t>(y) * width * 3];
    for (int64_t x = 0; x < width; ++x, dst += 3) {
      switch (bpp) {
        case 1: case 4: case 8: {
          const size_t bit = static_cast<size_t>(x) * bpp;
          const unsigned index = (row[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
          std::memcpy(dst, palette[index].data(), 3);
          break;
        }
        case 24:
          dst[0] = row[x * 3 + 2]; dst[1] = row[x * 3 + 1]; dst[2] = row[x * 3];
          break;
        case 32: {
          const uint8_t* p = row + x * 4;
          const uint8_t a = has_alpha ? p[3] : 255;
          dst[0] = over_white(p[2], a); dst[1] = over_white(p[1], a); dst[2] = over_white(p[0], a);
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace loupe::imaging
