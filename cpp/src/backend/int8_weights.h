#pragma once
// Int8 weight-only quantisation (opt-in, text decoder linears): symmetric, one fp32 scale
// per output row, w[n, k] ≈ q[n, k] · scale[n] with q in [-127, 127]. An I8 weight tensor
// [N, K] is one allocation of int8_weight_bytes(N, K): the N·K values, then, at byte offset
// int8_scales_offset(N·K), the N scales. Backends that accept I8 weights in linear() read
// the scales there (CPU today).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace loupe {

inline size_t int8_scales_offset(int64_t values) { return (size_t(values) + 63) / 64 * 64; }
inline size_t int8_weight_bytes(int64_t rows, int64_t cols) {
  return int8_scales_offset(rows * cols) + size_t(rows) * sizeof(float);
}
inline const float* int8_scales(const void* weight, int64_t rows, int64_t cols) {
  return reinterpret_cast<const float*>(static_cast<const uint8_t*>(weight) + int8_scales_offset(rows * cols));
}

// Round half to even of |v| <= 2^22 in the default rounding mode, as std::nearbyint, but
// inline (a libm call per weight was a tenth of an int8 load): the float sum with 1.5·2^23
// has no fraction bits left, and without -ffast-math the compiler keeps both operations.
inline float round_small_to_even(float v) {
  constexpr float kMagic = 12582912.0f;  // 1.5·2^23
  return (v + kMagic) - kMagic;
}

// Quantises rows [first, first + count) of an I8 weight [total_rows, cols] at dst (laid out
// as above); to_f32(r, c) reads value c of source row r (0-based within the range). Round
// to nearest; an all-zero row gets scale 0.
template <class ToF32>
void quantize_rows_int8(void* dst, int64_t total_rows, int64_t cols, int64_t first, int64_t count, ToF32&& to_f32) {
  int8_t* q = static_cast<int8_t*>(dst);
  float* scales = reinterpret_cast<float*>(static_cast<uint8_t*>(dst) + int8_scales_offset(total_rows * cols));
  for (int64_t r = 0; r < count; ++r) {
    float amax = 0;
    for (int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::abs(to_f32(r, c)));
    const float scale = amax / 127.0f;
    const float inv = scale > 0 ? 1.0f / scale : 0.0f;
    int8_t* out = q + (first + r) * cols;
    for (int64_t c = 0; c < cols; ++c) out[c] = int8_t(std::clamp(round_small_to_even(to_f32(r, c) * inv), -127.0f, 127.0f));
    scales[first + r] = scale;
  }
}

}  // namespace loupe
