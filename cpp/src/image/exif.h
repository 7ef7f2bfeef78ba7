#pragma once
// EXIF orientation: read tag 0x0112 from a TIFF-structured EXIF block and apply it the
// way Pillow's ImageOps.exif_transpose does.
#include <cstdint>
#include <span>

#include "loupe/image.h"

namespace loupe::imaging {

// TIFF header + IFD0 (an optional "Exif\0\0" prefix is skipped). Returns 1 when the
// block is malformed or carries no valid orientation: bad metadata never fails a decode.
int read_exif_orientation(std::span<const uint8_t> exif);

// Orientation 2..8 -> the upright image; 1 (or anything else) leaves it as it is.
RgbImage apply_orientation(RgbImage image, int orientation);

}  // namespace loupe::imaging
