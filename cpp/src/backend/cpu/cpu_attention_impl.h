#pragma once
// Online softmax over blocks of keys (flash-attention recurrence, one query row).
#include <algorithm>
#include <cmath>
#include <limits>

namespace loupe::cpu {

template <class KeyRow>
void attend_one(float* out, const float* q, int64_t count, int64_t d, float scale, KeyRow&& key_row) {
  constexpr int64_t kBlock = 64;
  float scores[kBlock];
  float running_max = -std::numeric_limits<float>::infinity();
  double denom = 0.0;
  for (int64_t i = 0; i < d; ++i) out[i] = 0.f;
  for (int64_t start = 0; start < count; start += kBlock) {
    const int64_t n = std::min(kBlock, count - start);
    float block_max = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < n; ++j) {
      const float* k = key_row(start + j).first;
      float s = 0.f;
      for (int64_t i = 0; i < d; ++i) s += q[i] * k[i];
      scores[j] = s * scale;
      block_max = std::max(block_max, scores[j]);
    }
    const float new_max = std::max(running_max, block_max);
    const float correction = std::exp(running_max - new_max);  // 0 on the first block
    denom *= correction;
    for (int64_t i = 0; i < d; ++i) out[i] *= correction;
    for (int64_t j = 0; j < n; ++j) {
      const float p = std::exp(scores[j] - new_max);
      denom += p;
      const float* v = key_row(start + j).second;
      for (int64_t i = 0; i < d; ++i) out[i] += p * v[i];
    }
    running_max = new_max;
  }
  const float inv = denom > 0 ? float(1.0 / denom) : 0.f;
  for (int64_t i = 0; i < d; ++i) out[i] *= inv;
}

}  // namespace loupe::cpu
