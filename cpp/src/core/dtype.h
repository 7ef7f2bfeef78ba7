#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace loupe {

enum class DType : uint8_t { F32, BF16, F16, I32, I64, U8, I8 };

size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);

// bf16 <-> fp32. Rounding is round-to-nearest-even, as PyTorch does; NaN stays NaN.
inline float bf16_to_f32(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline uint16_t f32_to_bf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu)) return uint16_t((bits >> 16) | 0x40);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
}
// IEEE half -> fp32 (checkpoints may store fp16).
float f16_to_f32(uint16_t h);

}  // namespace loupe
