#pragma once
// Small fp32 helpers shared by the CPU ops.
#include <cstdint>

#include "core/tensor.h"

namespace loupe::cpu {

// Below this many scalar operations a loop runs on one thread: waking the pool's workers
// costs microseconds, and on a loaded machine spinning threads cost far more.
constexpr int64_t kParallelWork = 1 << 16;

// True when the CPU executes AVX-512F; checked once.
bool has_avx512f();

// y[i] = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) for i < n, 16 lanes at a time (requires
// has_avx512f()), tanh from the vector exp of cpu_vector_math.h.
void gelu_tanh_avx512(float* y, const float* x, int64_t n);

// Converts n values of a weight-like tensor (F32 or BF16, starting at element `offset`) to fp32.
void load_f32(float* dst, const Tensor& src, int64_t offset, int64_t n);

// Online-softmax attention of one query row against keys/values addressed by `key_row`:
// out[d] = sum_j softmax(q·k_j * scale) v_j, for j in [0, count). k/v rows are float
// pointers to `d` contiguous values.
template <class KeyRow>
void attend_one(float* out, const float* q, int64_t count, int64_t d, float scale, KeyRow&& key_row);

}  // namespace loupe::cpu

#include "backend/cpu/cpu_attention_impl.h"
