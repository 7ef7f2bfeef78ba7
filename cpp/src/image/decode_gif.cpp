// GIF first frame via giflib, placed the way Pillow does: a palette image the size of
// the logical screen (grown if the frame overhangs it), filled with the transparent index
// when the frame's graphics control block declares one (else index 0), the frame pasted
// at its offset. Transparent pixels then composite to white (HF convert_to_rgb).
#include <algorithm>
#include <array>
#include <memory>
#include <cstring>
#include <vector>

#include <gif_lib.h>

#include "core/error.h"
#include "image/decoders.h"

namespace loupe::imaging {
namespace {

struct Reader {
  std::span<const uint8_t> bytes;
  size_t offset = 0;
};

int read_bytes(GifFileType* gif, GifByteType* dst, int n) {
  auto* r = static_cast<Reader*>(gif->UserData);
  const size_t take = std::min<size_t>(static_cast<size_t>(std::max(n, 0)), r->bytes.size() - r->offset);
  std::memcpy(dst, r->bytes.data() + r->offset, take);
  r->offset += take;
  return static_cast<int>(take);
}

struct GifCloser {
  void operator()(GifFileType* gif) const {
    int error = 0;
    DGifCloseFile(gif, &error);
  }
};

[[noreturn]] void fail(GifFileType* gif, const char* what) {
  const char* why = GifErrorString(gif ? gif->Error : 0);
  LOUPE_FAIL(BadImage, "invalid GIF: ", what, why ? ": " : "", why ? why : "");
}

}  // namespace

DecodedImage decode_gif(std::span<const uint8_t> bytes, const ImageLimits& limits) {
  Reader reader{bytes, 0};
  int error = 0;
  std::unique_ptr<GifFileType, GifCloser> gif(DGifOpen(&reader, read_bytes, &error));
  if (!gif) LOUPE_FAIL(BadImage, "invalid GIF: ", GifErrorString(error) ? GifErrorString(error) : "cannot open");
  check_dimensions(gif->SWidth, gif->SHeight, limits, "GIF");

  int transparent = -1;
  for (;;) {
    GifRecordType type;
    if (DGifGetRecordType(gif.get(), &type) == GIF_ERROR) fail(gif.get(), "bad record");
    if (type == TERMINATE_RECORD_TYPE) LOUPE_FAIL(BadImage, "invalid GIF: no image frame");
    if (type == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType* ext = nullptr;
      if (DGifGetExtension(gif.get(), &code, &ext) == GIF_ERROR) fail(gif.get(), "bad extension");
      if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4)
        transparent = (ext[1] & 1) ? ext[4] : -1;
      while (ext) {
        if (DGifGetExtensionNext(gif.get(), &ext) == GIF_ERROR) fail(gif.get(), "bad extension");
      }
      continue;
    }
    if (type != IMAGE_DESC_RECORD_TYPE) continue;

    if (DGifGetImageDesc(gif.get()) == GIF_ERROR) fail(gif.get(), "bad image descriptor");
    const GifImageDesc& desc = gif->Image;
    const int64_t right = int64_t(desc.Left) + desc.Width, bottom = int64_t(desc.Top) + desc.Height;
    check_dimensions(desc.Width, desc.Height, limits, "GIF frame");
    const int64_t width = std::max<int64_t>(gif->SWidth, right);
    const int64_t height = std::max<int64_t>(gif->SHeight, bottom);
    check_dimensions(width, height, limits, "GIF");

    std::vector<uint8_t> canvas(static_cast<size_t>(width * height),
                                static_cast<uint8_t>(transparent >= 0 ? transparent : 0));
    std::vector<GifPixelType> line(desc.Width);
    auto read_row = [&](int y) {
      if (DGifGetLine(gif.get(), line.data(), desc.Width) == GIF_ERROR) fail(gif.get(), "bad image data");
      std::memcpy(&canvas[static_cast<size_t>(desc.Top + y) * width + desc.Left], line.data(), desc.Width);
    };
    if (desc.Interlace) {
      constexpr std::array<int, 4> start{0, 4, 2, 1}, step{8, 8, 4, 2};
      for (int pass = 0; pass < 4; ++pass)
        for (int y = start[pass]; y < desc.Height; y += step[pass]) read_row(y);
    } else {
      for (int y = 0; y < desc.Height; ++y) read_row(y);
    }

    // Palette: the frame's own, else the global one; none means greyscale indices.
    const ColorMapObject* map = desc.ColorMap ? desc.ColorMap : gif->SColorMap;
    std::array<std::array<uint8_t, 3>, 256> palette{};  // entries past the map stay black
    for (int i = 0; i < 256; ++i) {
      if (map && i < map->ColorCount)
        palette[i] = {map->Colors[i].Red, map->Colors[i].Green, map->Colors[i].Blue};
      else if (!map)
        palette[i] = {uint8_t(i), uint8_t(i), uint8_t(i)};
    }
    DecodedImage out;
    out.image = make_rgb(static_cast<int>(width), static_cast<int>(height));
    uint8_t* dst = out.image.pixels.data();
    for (const uint8_t index : canvas) {
      if (index == transparent) {
        dst[0] = dst[1] = dst[2] = 255;
      } else {
        std::memcpy(dst, palette[index].data(), 3);
      }
      dst += 3;
    }
    return out;
  }
}

}  // namespace loupe::imaging
