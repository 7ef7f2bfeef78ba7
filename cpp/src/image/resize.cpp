#include "image/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace loupe::imaging {
namespace {

// Keys cubic with a = -0.5 (PIL-compatible antialias filter), written in PyTorch's
// operation order so the double weights round identically.
double cubic_filter(double x) {
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1.0) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2.0) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0.0;
}

// Filters at least this long (downscaling by 2x or more) take the transposed path.
constexpr int kTransposeMinTaps = 9;

uint8_t clamp_u8(int32_t v) { return static_cast<uint8_t>(std::clamp(v, 0, 255)); }

}  // namespace

AxisFilter make_bicubic_aa_filter(int in_size, int out_size) {
  LOUPE_CHECK(in_size > 0 && out_size > 0, InvalidArgument, "resize: sizes must be positive, got ",
              in_size, " -> ", out_size);
  const double scale = static_cast<double>(in_size) / out_size;
  const double support = scale >= 1.0 ? 2.0 * scale : 2.0;
  const double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
  AxisFilter f;
  f.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  f.start.resize(out_size);
  f.count.resize(out_size);
  std::vector<double> w(static_cast<size_t>(out_size) * f.taps, 0.0);
  double w_max = 0.0;
  for (int i = 0; i < out_size; ++i) {
    const double center = scale * (i + 0.5);
    const int64_t xmin = std::max<int64_t>(static_cast<int64_t>(center - support + 0.5), 0);
    int64_t xsize = std::min<int64_t>(static_cast<int64_t>(center + support + 0.5), in_size) - xmin;
    xsize = std::clamp<int64_t>(xsize, 0, f.taps);
    double* wi = &w[static_cast<size_t>(i) * f.taps];
    double total = 0.0;
    for (int64_t j = 0; j < xsize; ++j) {
      wi[j] = cubic_filter((j + xmin - center + 0.5) * invscale);
      total += wi[j];
    }
    if (total != 0.0) {
      for (int64_t j = 0; j < xsize; ++j) {
        wi[j] /= total;
        w_max = std::max(w_max, wi[j]);
      }
    }
    f.start[i] = static_cast<int>(xmin);
    f.count[i] = static_cast<int>(xsize);
  }
  // Largest precision whose biggest weight still fits int16 (PyTorch's rule).
  int p = 0;
  for (; p < 22; ++p) {
    if (static_cast<int>(0.5 + w_max * (1 << (p + 1))) >= (1 << 15)) break;
  }
  f.precision = p;
  f.weights.resize(w.size());
  for (size_t k = 0; k < w.size(); ++k) {
    const double v = w[k] * (1 << p);
    f.weights[k] = static_cast<int16_t>(v < 0 ? static_cast<int>(-0.5 + v) : static_cast<int>(0.5 + v));
  }
  return f;
}

namespace {

// src [rows][cols][C] -> dst [cols][rows][C] for a block of a few dozen rows (it stays in
// cache). C is a template parameter so each pixel copy is a fixed-size move.
template <int C>
void transpose_block(const uint8_t* src, int rows, int cols, uint8_t* dst) {
  for (int c = 0; c < cols; ++c)
    for (int r = 0; r < rows; ++r)
      std::memcpy(dst + (static_cast<size_t>(c) * rows + r) * C, src + (static_cast<size_t>(r) * cols + c) * C, C);
}

void transpose_block(const uint8_t* src, int rows, int cols, int channels, uint8_t* dst) {
  switch (channels) {
    case 1: return transpose_block<1>(src, rows, cols, dst);
    case 3: return transpose_block<3>(src, rows, cols, dst);
    case 4: return transpose_block<4>(src, rows, cols, dst);
  }
  LOUPE_FAIL(InvalidArgument, "resize: unsupported channel count ", channels);
}

// Output rows [begin, end) of a vertical filter whose input rows are row_len bytes long.
// Built for AVX2 as well as the baseline (chosen at run time): baseline x86-64 has no
// packed 32-bit multiply, AVX2 does eight at once.
__attribute__((target_clones("avx2", "default")))
void filter_rows(const uint8_t* src, size_t row_len, const AxisFilter& f, int begin, int end,
                 uint8_t* dst, int32_t* __restrict acc) {
  const int32_t half = 1 << (f.precision - 1);
  const int shift = f.precision;
  for (int y = begin; y < end; ++y) {
    for (size_t i = 0; i < row_len; ++i) acc[i] = half;
    const int16_t* k = &f.weights[static_cast<size_t>(y) * f.taps];
    for (int j = 0; j < f.count[y]; ++j) {
      const uint8_t* __restrict in_row = src + static_cast<size_t>(f.start[y] + j) * row_len;
      const int16_t w = k[j];
      for (size_t i = 0; i < row_len; ++i) acc[i] += int32_t(int16_t(in_row[i])) * w;
    }
    uint8_t* __restrict out_row = dst + static_cast<size_t>(y) * row_len;
    for (size_t i = 0; i < row_len; ++i) out_row[i] = clamp_u8(acc[i] >> shift);
  }
}

// Horizontal pass for long filters (strong downscaling): blocks of rows are transposed,
// filtered as columns with the vectorised vertical kernel and transposed back. The
// integer sums are the same as a direct pass, so the bytes are too.
void horizontal_pass_transposed(const uint8_t* src, int rows, int in_w, int channels,
                                const AxisFilter& f, int out_w, uint8_t* dst) {
  constexpr int kBlock = 64;
  const int blocks = (rows + kBlock - 1) / kBlock;
  ByteBuffer columns(static_cast<size_t>(in_w) * kBlock * channels);
  ByteBuffer filtered(static_cast<size_t>(out_w) * kBlock * channels);
  std::vector<int32_t> acc(static_cast<size_t>(kBlock) * channels);
  for (int b = 0; b < blocks; ++b) {
    const int r0 = b * kBlock, n = std::min(kBlock, rows - r0);
    transpose_block(src + static_cast<size_t>(r0) * in_w * channels, n, in_w, channels, columns.data());
    filter_rows(columns.data(), static_cast<size_t>(n) * channels, f, 0, out_w, filtered.data(), acc.data());
    transpose_block(filtered.data(), out_w, n, channels, dst + static_cast<size_t>(r0) * out_w * channels);
  }
}

// Direct horizontal pass: a strided gather per output pixel. Cheapest when the filter is
// short (upscaling or mild downscaling).
void horizontal_pass(const uint8_t* src, int rows, int in_w, int channels, const AxisFilter& f,
                     int out_w, uint8_t* dst) {
  const int32_t half = 1 << (f.precision - 1);
  for (int y = 0; y < rows; ++y) {
    const uint8_t* in_row = src + static_cast<size_t>(y) * in_w * channels;
    uint8_t* out_row = dst + static_cast<size_t>(y) * out_w * channels;
    for (int x = 0; x < out_w; ++x) {
      const int16_t* k = &f.weights[static_cast<size_t>(x) * f.taps];
      if (channels == 3) {  // the hot case: all three channels in one walk over the taps
        const uint8_t* p = in_row + static_cast<size_t>(f.start[x]) * 3;
        int32_t r = half, g = half, b = half;
        for (int j = 0; j < f.count[x]; ++j, p += 3) {
          r += p[0] * k[j];
          g += p[1] * k[j];
          b += p[2] * k[j];
        }
        out_row[x * 3] = clamp_u8(r >> f.precision);
        out_row[x * 3 + 1] = clamp_u8(g >> f.precision);
        out_row[x * 3 + 2] = clamp_u8(b >> f.precision);
        continue;
      }
      for (int c = 0; c < channels; ++c) {
        const uint8_t* p = in_row + static_cast<size_t>(f.start[x]) * channels + c;
        int32_t acc = half;
        for (int j = 0; j < f.count[x]; ++j) acc += p[j * channels] * k[j];
        out_row[x * channels + c] = clamp_u8(acc >> f.precision);
      }
    }
  }
}

void vertical_pass(const uint8_t* src, int width, int channels, const AxisFilter& f, int out_h,
                   uint8_t* dst) {
  const size_t row_len = static_cast<size_t>(width) * channels;
  std::vector<int32_t> acc(row_len);
  for (int y = 0; y < out_h; ++y) filter_rows(src, row_len, f, y, y + 1, dst, acc.data());
}

}  // namespace

ByteBuffer resize_bicubic_aa(const uint8_t* src, int in_h, int in_w, int channels,
                                       int out_h, int out_w) {
  LOUPE_CHECK(in_h > 0 && in_w > 0 && out_h > 0 && out_w > 0 && channels > 0, InvalidArgument,
              "resize: bad geometry ", in_w, "x", in_h, " -> ", out_w, "x", out_h);
  const size_t in_size = static_cast<size_t>(in_h) * in_w * channels;
  if (in_h == out_h && in_w == out_w) return ByteBuffer(src, src + in_size);

  // Horizontal first, restricted to the input rows the vertical pass will read.
  ByteBuffer horizontal;
  const uint8_t* rows = src;
  AxisFilter fy;
  int row_offset = 0;
  int needed_rows = in_h;
  if (out_h != in_h) {
    fy = make_bicubic_aa_filter(in_h, out_h);
    row_offset = fy.start.front();
    needed_rows = fy.start.back() + fy.count.back() - row_offset;
  }
  if (out_w != in_w) {
    const AxisFilter fx = make_bicubic_aa_filter(in_w, out_w);
    const uint8_t* first = src + static_cast<size_t>(row_offset) * in_w * channels;
    horizontal.resize(static_cast<size_t>(needed_rows) * out_w * channels);
    if (fx.taps < kTransposeMinTaps) {
      horizontal_pass(first, needed_rows, in_w, channels, fx, out_w, horizontal.data());
    } else {
      horizontal_pass_transposed(first, needed_rows, in_w, channels, fx, out_w, horizontal.data());
    }
    rows = horizontal.data();
  } else {
    rows = src + static_cast<size_t>(row_offset) * in_w * channels;
  }
  if (out_h == in_h) return horizontal;

  for (int& s : fy.start) s -= row_offset;
  ByteBuffer out(static_cast<size_t>(out_h) * out_w * channels);
  vertical_pass(rows, out_w, channels, fy, out_h, out.data());
  return out;
}

}  // namespace loupe::imaging
