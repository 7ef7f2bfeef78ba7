// WebP via libwebp's animation decoder, as Pillow does for every WebP: the first frame
// composited on the canvas in non-premultiplied RGBA. Alpha counts only when the
// container's ALPHA flag is set (Pillow then opens RGBA, otherwise RGB).
#include <memory>

#include <webp/decode.h>
#include <webp/demux.h>

#include "core/error.h"
#include "image/color.h"
#include "image/decoders.h"
#include "image/exif.h"

namespace loupe::imaging {
namespace {

struct DemuxDeleter {
  void operator()(WebPDemuxer* d) const { WebPDemuxDelete(d); }
};
struct AnimDeleter {
  void operator()(WebPAnimDecoder* d) const { WebPAnimDecoderDelete(d); }
};

}  // namespace

DecodedImage decode_webp(std::span<const uint8_t> bytes, const ImageLimits& limits) {
  const WebPData data{bytes.data(), bytes.size()};
  std::unique_ptr<WebPDemuxer, DemuxDeleter> demux(WebPDemux(&data));
  LOUPE_CHECK(demux, BadImage, "invalid WebP: malformed or truncated container");
  const int width = static_cast<int>(WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_WIDTH));
  const int height = static_cast<int>(WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_HEIGHT));
  check_dimensions(width, height, limits, "WebP");
  const bool has_alpha = (WebPDemuxGetI(demux.get(), WEBP_FF_FORMAT_FLAGS) & ALPHA_FLAG) != 0;

  DecodedImage out;
  WebPChunkIterator chunk;
  if (WebPDemuxGetChunk(demux.get(), "EXIF", 1, &chunk)) {
    out.orientation = read_exif_orientation({chunk.chunk.bytes, chunk.chunk.size});
    WebPDemuxReleaseChunkIterator(&chunk);
  }

  WebPAnimDecoderOptions options;
  LOUPE_CHECK(WebPAnimDecoderOptionsInit(&options), Internal, "libwebp: version mismatch");
  options.color_mode = MODE_RGBA;
  options.use_threads = 0;
  std::unique_ptr<WebPAnimDecoder, AnimDeleter> decoder(WebPAnimDecoderNew(&data, &options));
  LOUPE_CHECK(decoder, BadImage, "invalid WebP: cannot start decoding");
  uint8_t* rgba = nullptr;
  int timestamp = 0;
  LOUPE_CHECK(WebPAnimDecoderGetNext(decoder.get(), &rgba, &timestamp) && rgba, BadImage,
              "invalid WebP: cannot decode the first frame");

  out.image = make_rgb(width, height);
  uint8_t* dst = out.image.pixels.data();
  const size_t n = static_cast<size_t>(width) * height;
  for (size_t i = 0; i < n; ++i, dst += 3) {
    const uint8_t* p = rgba + i * 4;
    for (int c = 0; c < 3; ++c) dst[c] = has_alpha ? over_white(p[c], p[3]) : p[c];
  }
  return out;
}

}  // namespace loupe::imaging
