// JPEG via libjpeg(-turbo) with Pillow's settings (ISLOW IDCT, fancy upsampling).
// libjpeg reports fatal errors through error_exit, which by default calls exit(); ours
// longjmps back to a frame that owns no C++ objects and turns it into a BadImage.
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include <jpeglib.h>
#include <jerror.h>

#include "core/error.h"
#include "image/color.h"
#include "image/decoders.h"
#include "image/exif.h"

namespace loupe::imaging {
namespace {

// Progressive files can carry thousands of tiny scans, each a full pass over the
// coefficients; real encoders use about ten.
constexpr int kMaxScans = 256;

struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  cinfo->err->format_message(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings about corrupt data are tolerated; running out of data is not (Pillow refuses
// truncated files unless LOAD_TRUNCATED_IMAGES is set, and libjpeg would pad with grey).
void on_message(j_common_ptr cinfo, int level) {
  if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(err->message, sizeof err->message, "file is truncated");
    std::longjmp(err->jump, 1);
  }
}

void on_progress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxScans) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(err->message, sizeof err->message, "more than %d progressive scans", kMaxScans);
    std::longjmp(err->jump, 1);
  }
}

struct Job {
  std::span<const uint8_t> bytes;
  const ImageLimits* limits;
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  jpeg_progress_mgr progress;
  DecodedImage out;
  std::vector<uint8_t> row;  // one scanline in the decoder's output space
  std::optional<Error> header_error;  // the header violates a limit
};

void read_orientation(Job& job) {
  for (jpeg_saved_marker_ptr m = job.cinfo.marker_list; m; m = m->next) {
    if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
        std::memcmp(m->data, "Exif\0\0", 6) == 0) {
      job.out.orientation = read_exif_orientation({m->data, m->data_length});
      return;
    }
  }
}

// Runs between setjmp and jpeg_destroy: every object it touches lives in Job.
void decode_body(Job& job) {
  jpeg_decompress_struct& c = job.cinfo;
  jpeg_mem_src(&c, job.bytes.data(), static_cast<unsigned long>(job.bytes.size()));
  jpeg_save_markers(&c, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(&c, TRUE);
  try {
    check_dimensions(c.image_width, c.image_height, *job.limits, "JPEG");
  } catch (const Error& e) {
    job.header_error = e;
    return;
  }
  const bool cmyk = c.jpeg_color_space == JCS_CMYK || c.jpeg_color_space == JCS_YCCK;
  c.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;  // greyscale -> RGB replicates, as Pillow
  c.dct_method = JDCT_ISLOW;
  c.do_fancy_upsampling = TRUE;
  read_orientation(job);
  jpeg_start_decompress(&c);
  job.out.image = make_rgb(static_cast<int>(c.output_width), static_cast<int>(c.output_height));
  job.row.resize(static_cast<size_t>(c.output_width) * c.output_components);
  uint8_t* dst = job.out.image.pixels.data();
  while (c.output_scanline < c.output_height) {
    JSAMPROW rows[1] = {job.row.data()};
    jpeg_read_scanlines(&c, rows, 1);
    if (cmyk) {
      // Pillow reads CMYK JPEGs as Adobe-inverted ("CMYK;I"), then converts to RGB.
      for (size_t x = 0; x < c.output_width; ++x, dst += 3) {
        const uint8_t* p = &job.row[x * 4];
        const uint8_t k = 255 - p[3];
        for (int ch = 0; ch < 3; ++ch) dst[ch] = cmyk_channel(255 - p[ch], k);
      }
    } else {
      std::memcpy(dst, job.row.data(), job.row.size());
      dst += job.row.size();
    }
  }
  jpeg_finish_decompress(&c);
}

bool run_guarded(Job& job) {
  if (setjmp(job.err.jump)) return false;
  decode_body(job);
  return true;
}

}  // namespace

DecodedImage decode_jpeg(std::span<const uint8_t> bytes, const ImageLimits& limits) {
  Job job{};
  job.bytes = bytes;
  job.limits = &limits;
  job.cinfo.err = jpeg_std_error(&job.err.base);
  job.err.base.error_exit = on_error;
  job.err.base.emit_message = on_message;
  job.progress.progress_monitor = on_progress;
  jpeg_create_decompress(&job.cinfo);
  job.cinfo.progress = &job.progress;
  const bool ok = run_guarded(job);
  jpeg_destroy_decompress(&job.cinfo);
  if (job.header_error) throw *job.header_error;
  LOUPE_CHECK(ok, BadImage, "invalid JPEG: ", job.err.message);
  return std::move(job.out);
}

}  // namespace loupe::imaging
