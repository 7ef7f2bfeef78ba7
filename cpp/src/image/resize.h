#pragma once
// Antialiased bicubic resize of interleaved 8-bit images, bit-exact with PyTorch's CPU
// uint8 kernel (torch.nn.functional.interpolate(mode="bicubic", antialias=True) on a
// uint8 tensor), which is what torchvision and HF's default Qwen2-VL image processor run.
#include <cstdint>
#include <vector>

#include "loupe/image.h"

namespace loupe::imaging {

using ByteBuffer = std::vector<uint8_t, UninitializedAllocator<uint8_t>>;

// Fixed-point filter for one axis: output i reads input[start[i] .. start[i]+count[i])
// with int16 weights weights[i*taps ..], scaled by 2^precision.
struct AxisFilter {
  int taps = 0;
  int precision = 0;
  std::vector<int> start;
  std::vector<int> count;
  std::vector<int16_t> weights;
};

// Pillow/PyTorch coefficients: cubic a = -0.5 stretched by the downscale factor,
// normalised in double, then rounded to int16 with the largest precision (<= 22 bits)
// that keeps the biggest weight below 2^15.
AxisFilter make_bicubic_aa_filter(int in_size, int out_size);

// src: in_h x in_w x channels; returns out_h x out_w x channels. Horizontal pass first,
// then vertical, each skipped when that size is unchanged; the intermediate is uint8.
ByteBuffer resize_bicubic_aa(const uint8_t* src, int in_h, int in_w, int channels,
                                       int out_h, int out_w);

// Pillow's Image.resize(..., BICUBIC) on 8-bit samples, bit for bit (resize_pillow.cpp):
// what qwen-vl-utils, and so the Qwen3-VL embedding and reranker references, resize with.
ByteBuffer resize_bicubic_pillow(const uint8_t* src, int in_h, int in_w, int channels, int out_h, int out_w);

}  // namespace loupe::imaging
