#pragma once
// Int8-weight GEMM on AVX-512 VNNI (vpdpwssd): the int8 weights are sign-extended to int16 in
// registers and multiplied by int16 activations, so the stream from memory is the int8 bytes
// and the work per weight byte is two instructions, not a conversion through fp32.
//
// Activations are quantised per row in blocks of kInt8ActivationBlock values: scale =
// max|x| / 32767 over the block, x ≈ round(x / scale) · scale. The step is 2⁻¹⁵ of the
// block's largest value, finer than bf16's 2⁻⁸ relative step for every value within 2⁷ of
// that maximum, so this stays a weight-only quantisation (the activations are carried at
// about bf16 precision or better). Exact mode adds a second int16 plane for the remainder
// (step 2⁻³⁰ of the block maximum), the fp32 activations to within fp32 accumulation error.
// Within a block the int32 sums cannot overflow: 128 · 127 · 32767 < 2³¹.
#include <cstdint>
#include <vector>

#include "backend/cpu/cpu_gemm_bf16.h"
#include "backend/cpu/thread_pool.h"

namespace loupe::cpu {

constexpr int64_t kInt8ActivationBlock = 128;

// True when the CPU executes vpdpwssd on zmm registers (AVX512_VNNI + AVX512BW); checked once.
bool has_avx512_vnni();

// Quantised activations: `planes` int16 planes per row (1, or 2 in exact mode), each of
// `ld` values (k rounded up to 32 plus one cache line, zero padded), and one scale per
// plane and block.
struct Int16Activations {
  int planes = 1;
  int64_t ld = 0, blocks = 0;
  std::vector<int16_t> values;  // [rows · planes, ld]
  std::vector<float> scales;    // [rows · planes, blocks]
};

// Quantises x[m, k] as described above (portable code: tests use it as their reference).
void quantize_activations_int16(Int16Activations& out, const float* x, int64_t m, int64_t k, bool exact);

// x[m, k] = the activations `in` stands for (the planes' values times their scales).
void dequantize_activations_int16(float* x, const Int16Activations& in, int64_t m, int64_t k);

// y[M, N] (row stride ldy) = x[M, K] · (q[N, K] · diag(scales))ᵀ, x quantised as above
// (`mode` Exact: two planes). Requires has_avx512_vnni().
void gemm_int8(float* y, int64_t ldy, const float* x, const int8_t* q, const float* scales, int64_t m, int64_t n,
               int64_t k, Bf16Activations mode, Int16Activations& scratch, ThreadPool& pool);

}  // namespace loupe::cpu
