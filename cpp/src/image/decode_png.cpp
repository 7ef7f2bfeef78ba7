// PNG via libpng with Pillow's colour semantics: no gamma correction, 16-bit samples
// keep their high byte, 16-bit greyscale saturates at 255 (Pillow's I;16 -> L), and any
// alpha or tRNS transparency is composited over white (HF convert_to_rgb).
// libpng's fatal errors longjmp back to run_guarded(); no C++ object lives across it.
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <png.h>

#include "core/error.h"
#include "image/color.h"
#include "image/decoders.h"
#include "image/exif.h"

namespace loupe::imaging {
namespace {

struct Job {
  std::span<const uint8_t> bytes;
  size_t offset = 0;
  const ImageLimits* limits = nullptr;
  png_structp png = nullptr;
  png_infop info = nullptr;
  char message[256] = "unknown error";
  std::optional<Error> header_error;
  std::vector<uint8_t> raw;            // decoded rows, channels x (8 or 16) bits
  std::vector<png_bytep> row_pointers;
  DecodedImage out;
};

void on_error(png_structp png, png_const_charp msg) {
  auto* job = static_cast<Job*>(png_get_error_ptr(png));
  std::snprintf(job->message, sizeof job->message, "%s", msg);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

void read_bytes(png_structp png, png_bytep dst, png_size_t n) {
  auto* job = static_cast<Job*>(png_get_io_ptr(png));
  if (job->bytes.size() - job->offset < n) png_error(png, "file is truncated");
  std::memcpy(dst, job->bytes.data() + job->offset, n);
  job->offset += n;
}

void read_orientation(Job& job) {
  png_uint_32 size = 0;
  png_bytep exif = nullptr;
  if (png_get_eXIf_1(job.png, job.info, &size, &exif) && exif && size > 0)
    job.out.orientation = read_exif_orientation({exif, size});
}

void decode_body(Job& job) {
  png_structp png = job.png;
  png_infop info = job.info;
  png_set_read_fn(png, &job, read_bytes);
  png_read_info(png, info);
  const png_uint_32 width = png_get_image_width(png, info);
  const png_uint_32 height = png_get_image_height(png, info);
  try {
    check_dimensions(width, height, *job.limits, "PNG");
  } catch (const Error& e) {
    job.header_error = e;
    return;
  }
  const int color_type = png_get_color_type(png, info);
  const int bit_depth = png_get_bit_depth(png, info);
  // Pillow opens 16-bit greyscale as I;16 and its convert("RGB") clips each value to 255.
  const bool grey16 = color_type == PNG_COLOR_TYPE_GRAY && bit_depth == 16;
  if (!grey16) {
    png_set_expand(png);  // palette -> RGB, grey < 8 bits -> 8, tRNS -> alpha
    if (bit_depth == 16) png_set_strip_16(png);  // high byte, like Pillow's ";16B" unpackers
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  const size_t channels = png_get_channels(png, info);
  const size_t rowbytes = png_get_rowbytes(png, info);
  if (rowbytes != static_cast<size_t>(width) * channels * (grey16 ? 2 : 1))
    png_error(png, "unexpected row layout");
  job.raw.resize(rowbytes * height);
  job.row_pointers.resize(height);
  for (png_uint_32 y = 0; y < height; ++y) job.row_pointers[y] = job.raw.data() + y * rowbytes;
  png_read_image(png, job.row_pointers.data());
  png_read_end(png, info);  // eXIf may follow the image data
  read_orientation(job);

  job.out.image = make_rgb(static_cast<int>(width), static_cast<int>(height));
  uint8_t* dst = job.out.image.pixels.data();
  const uint8_t* src = job.raw.data();
  const size_t n = static_cast<size_t>(width) * height;
  for (size_t i = 0; i < n; ++i, dst += 3) {
    if (grey16) {
      const unsigned v = (src[2 * i] << 8) | src[2 * i + 1];
      dst[0] = dst[1] = dst[2] = static_cast<uint8_t>(v > 255 ? 255 : v);
      continue;
    }
    const uint8_t* p = src + i * channels;
    switch (channels) {
      case 1: dst[0] = dst[1] = dst[2] = p[0]; break;
      case 2: dst[0] = dst[1] = dst[2] = over_white(p[0], p[1]); break;
      case 3: dst[0] = p[0]; dst[1] = p[1]; dst[2] = p[2]; break;
      case 4:
        dst[0] = over_white(p[0], p[3]);
        dst[1] = over_white(p[1], p[3]);
        dst[2] = over_white(p[2], p[3]);
        break;
    }
  }
}

bool run_guarded(Job& job) {
  if (setjmp(png_jmpbuf(job.png))) return false;
  decode_body(job);
  return true;
}

}  // namespace

DecodedImage decode_png(std::span<const uint8_t> bytes, const ImageLimits& limits) {
  Job job;
  job.bytes = bytes;
  job.limits = &limits;
  job.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, on_error, on_warning);
  LOUPE_CHECK(job.png, Internal, "libpng: cannot create a read struct");
  job.info = png_create_info_struct(job.png);
  if (!job.info) {
    png_destroy_read_struct(&job.png, nullptr, nullptr);
    LOUPE_FAIL(Internal, "libpng: cannot create an info struct");
  }
  // Dimensions are checked after png_read_info (LimitExceeded); ancillary chunks (text,
  // ICC) are capped so a hostile file cannot make libpng buffer megabytes of metadata.
  png_set_chunk_malloc_max(job.png, 8u << 20);
  const bool ok = run_guarded(job);
  png_destroy_read_struct(&job.png, &job.info, nullptr);
  if (job.header_error) throw *job.header_error;
  LOUPE_CHECK(ok, BadImage, "invalid PNG: ", job.message);
  return std::move(job.out);
}

}  // namespace loupe::imaging
