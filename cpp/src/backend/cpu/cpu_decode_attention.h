#pragma once
// Decode attention on AVX-512: one query row per head against a sequence's cached keys,
// read in place through its slot table. The query heads that share a KV head (a GQA group)
// are served by every key and value load; online softmax over blocks of keys with vector
// dot products and the vector exp. (The portable attend_one reduces each q·k in order, so
// the compiler keeps it scalar: a fifth of the caption's decode time at a 340-token context.)
#include <cstdint>

namespace loupe::cpu {

// Key/value row j of one KV head: k + slots[j]·slot_stride (floats), the same for v.
struct PagedHeadRows {
  const float* k;
  const float* v;
  const int32_t* slots;
  int64_t slot_stride;
};

// out[h] = softmax(scale · q[h] · Kᵀ over keys [0, count)) · V for h < heads, the rows of q
// and out `heads` consecutive runs of d floats. d must be a multiple of 16, at most 256.
// Requires has_avx512f().
void attend_heads_decode(float* out, const float* q, int heads, int64_t count, int64_t d, float scale,
                         const PagedHeadRows& rows);

}  // namespace loupe::cpu
