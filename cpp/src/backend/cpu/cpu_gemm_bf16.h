#pragma once
// bf16 GEMM on AVX-512 BF16 (vdpbf16ps), reading the weights in the layout the checkpoint
// stores them ([N, K] row-major) so nothing is repacked and no second copy of the model
// exists: the same kernel serves decode (M = 1), batched decode, prefill and the vision tower.
#include <cstdint>
#include <vector>

#include "backend/cpu/thread_pool.h"

namespace loupe::cpu {

// True when the CPU executes vdpbf16ps (AVX512_BF16); checked once.
bool has_avx512_bf16();

// How the fp32 activations enter the bf16 dot products.
enum class Bf16Activations {
  // Rounded to bf16, as a PyTorch bf16 model computes (its activations are bf16): one pass.
  Rounded,
  // Split exactly into three bf16 parts (x = hi + mid + lo to fp32 precision) and run three
  // passes: the fp32-activation result of an upcast model at 3x the dot-product work. Costs
  // nothing where the weight stream is the limit (decode).
  Exact,
};

// y[M, N] (row stride ldy) = x[M, K] · w[N, K]ᵀ with fp32 accumulation, x entering as
// `mode` says. `scratch` holds the bf16 planes of x between calls. Requires
// has_avx512_bf16().
void gemm_bf16(float* y, int64_t ldy, const float* x, const uint16_t* w, int64_t m, int64_t n, int64_t k,
               Bf16Activations mode, std::vector<uint16_t>& scratch, ThreadPool& pool);

}  // namespace loupe::cpu
