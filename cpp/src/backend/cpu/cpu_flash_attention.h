#pragma once
// Blocked online-softmax attention on AVX-512 for many queries against one head's keys
// (vision segments, text prefill): keys are walked 16 at a time so one vector holds a query
// row's scores, exp is a vector polynomial, and each key/value row loaded serves a block of
// queries. fp32 throughout (the parity path); no [T, T] buffer.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "backend/cpu/cpu_kernels.h"

namespace loupe::cpu {

// One head's keys prepared for attend_queries(): kt [ceil(count/16)][d][16] (each block of 16
// keys transposed, zero-padded), v [count][d] contiguous.
struct HeadKeys {
  std::vector<float> kt, v;
  int64_t count = 0, d = 0;
};
// Fills `keys` from `count` key/value rows addressed by row(j) -> {k_ptr, v_ptr} (d floats each).
template <class Row>
void gather_head_keys(HeadKeys& keys, int64_t count, int64_t d, Row&& row) {
  const int64_t blocks = (count + 15) / 16;
  keys.count = count;
  keys.d = d;
  keys.kt.assign(size_t(blocks * d * 16), 0.f);
  keys.v.resize(size_t(count * d));
  for (int64_t j = 0; j < count; ++j) {
    const auto [k, v] = row(j);
    float* block = keys.kt.data() + (j / 16) * d * 16 + (j % 16);
    for (int64_t i = 0; i < d; ++i) block[i * 16] = k[i];
    for (int64_t i = 0; i < d; ++i) keys.v[size_t(j * d + i)] = v[i];
  }
}

// out[r] = softmax(scale · q[r] · Kᵀ over keys [0, visible[r])) · V for r < nq; rows of q and
// out are d floats at the given strides; visible == nullptr means all keys. d must be a
// multiple of 16. Requires has_avx512f().
void attend_queries(float* out, int64_t out_stride, const float* q, int64_t q_stride, int64_t nq,
                    const int64_t* visible, const HeadKeys& keys, float scale);

}  // namespace loupe::cpu
