#pragma once
// Colour conversions that reproduce HF convert_to_rgb (Pillow) bit for bit.
#include <cstdint>

namespace loupe::imaging {

// Pillow Image.alpha_composite(white, RGBA) followed by convert("RGB"), specialised to
// an opaque white background: AlphaComposite.c with 7 extra precision bits.
inline uint8_t over_white(uint8_t colour, uint8_t alpha) {
  if (alpha == 0) return 255;
  const uint32_t n = uint32_t(colour) * alpha + 255u * (255u - alpha);
  const uint32_t q = 128u * n + 0x4000u;
  return static_cast<uint8_t>((((q >> 8) + q) >> 8) >> 7);
}

// Pillow's CMYK -> RGB (after the Adobe inversion done by the JPEG reader).
inline uint8_t cmyk_channel(uint8_t c, uint8_t k) {
  const int nk = 255 - k;
  const int t = c * nk + 128;
  const int v = nk - (((t >> 8) + t) >> 8);
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

}  // namespace loupe::imaging
