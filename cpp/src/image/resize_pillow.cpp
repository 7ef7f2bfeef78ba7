// Pillow 13's BICUBIC Image.resize of an 8-bit image (libImaging/Resample.c, the 8 bpc path),
// which qwen-vl-utils applies for the Qwen3-VL embedding and reranker models. Differs from
// PyTorch's kernel (resize.cpp) in its filter arithmetic and fixed-point weights, by up to
// 17/255 at sharp edges, so each reference gets its own.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "image/resize.h"

namespace loupe::imaging {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // 8-bit result, two bits of headroom, sign

// Keys cubic, a = -0.5, in Pillow's operation order.
double pillow_cubic(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

struct PillowFilter {
  int taps = 0;
  std::vector<int> start, count;
  std::vector<int32_t> weights;  // taps per output, scaled by 2^kPrecisionBits
};

PillowFilter make_filter(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 2.0 * filterscale;
  PillowFilter f;
  f.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  f.start.resize(out_size);
  f.count.resize(out_size);
  f.weights.assign(static_cast<size_t>(out_size) * f.taps, 0);
  std::vector<double> w(f.taps);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = hi - lo;
    double sum = 0.0;
    for (int k = 0; k < n; ++k) sum += w[k] = pillow_cubic((k + lo - center + 0.5) / filterscale);
    for (int k = 0; k < n; ++k) {
      const double normalised = sum != 0.0 ? w[k] / sum : w[k];
      const double scaled = normalised * (1 << kPrecisionBits);
      f.weights[static_cast<size_t>(i) * f.taps + k] = static_cast<int32_t>(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
    }
    f.start[i] = lo;
    f.count[i] = n;
  }
  return f;
}

// Pillow's clip8: an arithmetic shift, then saturation.
uint8_t clip8(int32_t acc) { return static_cast<uint8_t>(std::clamp(acc >> kPrecisionBits, 0, 255)); }

// out[y][i] = sum_k in[y][start+k] * w, for `rows` rows of `channels` interleaved samples.
void horizontal(const uint8_t* in, int rows, int in_w, int channels, const PillowFilter& f, int out_w,
                uint8_t* out) {
  for (int y = 0; y < rows; ++y) {
    const uint8_t* row = in + static_cast<size_t>(y) * in_w * channels;
    for (int i = 0; i < out_w; ++i) {
      const int32_t* w = &f.weights[static_cast<size_t>(i) * f.taps];
      for (int c = 0; c < channels; ++c) {
        int32_t acc = 1 << (kPrecisionBits - 1);
        for (int k = 0; k < f.count[i]; ++k) acc += row[(f.start[i] + k) * channels + c] * w[k];
        out[(static_cast<size_t>(y) * out_w + i) * channels + c] = clip8(acc);
      }
    }
  }
}

void vertical(const uint8_t* in, int width, int channels, const PillowFilter& f, int out_h, int row_offset,
              uint8_t* out) {
  const size_t stride = static_cast<size_t>(width) * channels;
  for (int j = 0; j < out_h; ++j) {
    const int32_t* w = &f.weights[static_cast<size_t>(j) * f.taps];
    const uint8_t* first = in + static_cast<size_t>(f.start[j] - row_offset) * stride;
    for (size_t x = 0; x < stride; ++x) {
      int32_t acc = 1 << (kPrecisionBits - 1);
      for (int k = 0; k < f.count[j]; ++k) acc += first[k * stride + x] * w[k];
      out[static_cast<size_t>(j) * stride + x] = clip8(acc);
    }
  }
}

}  // namespace

ByteBuffer resize_bicubic_pillow(const uint8_t* src, int in_h, int in_w, int channels, int out_h, int out_w) {
  LOUPE_CHECK(in_h > 0 && in_w > 0 && out_h > 0 && out_w > 0 && channels > 0, InvalidArgument,
              "resize: bad geometry ", in_w, "x", in_h, " -> ", out_w, "x", out_h);
  const size_t in_size = static_cast<size_t>(in_h) * in_w * channels;
  if (in_h == out_h && in_w == out_w) return ByteBuffer(src, src + in_size);  // Pillow copies
  const PillowFilter fy = make_filter(in_h, out_h);
  // Pillow (13) runs the vertical pass first when the height shrinks by more than twice as
  // many pixels as the width does, else the horizontal pass first over the rows the
  // vertical pass reads; the uint8 intermediate makes the order visible.
  const bool vertical_first = in_h - out_h > 0 && in_h - out_h > (in_w - out_w) * 2;
  if (vertical_first) {
    ByteBuffer rows(static_cast<size_t>(out_h) * in_w * channels);
    vertical(src, in_w, channels, fy, out_h, 0, rows.data());
    if (out_w == in_w) return rows;
    ByteBuffer out(static_cast<size_t>(out_h) * out_w * channels);
    horizontal(rows.data(), out_h, in_w, channels, make_filter(in_w, out_w), out_w, out.data());
    return out;
  }
  const int first_row = out_h != in_h ? fy.start.front() : 0;
  const int last_row = out_h != in_h ? fy.start.back() + fy.count.back() : in_h;
  ByteBuffer rows;
  const uint8_t* source = src + static_cast<size_t>(first_row) * in_w * channels;
  int width = in_w;
  if (out_w != in_w) {
    rows.resize(static_cast<size_t>(last_row - first_row) * out_w * channels);
    horizontal(source, last_row - first_row, in_w, channels, make_filter(in_w, out_w), out_w, rows.data());
    source = rows.data();
    width = out_w;
  }
  if (out_h == in_h) return rows;
  ByteBuffer out(static_cast<size_t>(out_h) * width * channels);
  vertical(source, width, channels, fy, out_h, first_row, out.data());
  return out;
}

}  // namespace loupe::imaging
